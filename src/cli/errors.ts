import { ZodError } from 'zod';
import { ConfigError } from '../platform/config.ts';
import { DatabaseInUseError } from '../db/directory-lock.ts';
import { AppError } from '../platform/errors.ts';
import { kebab, UsageError, type CommandInfo } from './command.ts';

export interface Failure {
  /** One line, for stderr. */
  message: string;
  /** 2: the command was called wrongly; 1: it failed. */
  exitCode: 1 | 2;
  /** Only for errors that are bugs or outages, not for a person's mistake. */
  stack?: string;
}

const oneLine = (text: string) => text.replace(/:\s*\n\s*/g, ': ').replace(/\s*\n\s*/g, '; ').trim();

function flagFor(command: CommandInfo | null, field: string): string {
  if (field === '_') return '';
  return command?.fieldFlags?.[field] ?? `--${kebab(field)}`;
}

/** "--expires: Use an ISO-8601 …" rather than the domain's field names. */
function invalidInput(command: CommandInfo | null, error: AppError): string {
  if (!error.fields || !Object.keys(error.fields).length) return error.message;
  return Object.entries(error.fields)
    .map(([field, text]) => {
      const name = flagFor(command, field);
      const sentence = text.replace(/\.$/, '');
      return name ? `${name}: ${sentence}` : sentence;
    })
    .join('; ');
}

/** Whatever went wrong, as one line and an exit code. */
export function describeFailure(error: unknown, command: CommandInfo | null): Failure {
  if (error instanceof UsageError) return { message: error.message, exitCode: 2 };
  if (error instanceof AppError) {
    if (error.code === 'invalid_input') return { message: oneLine(invalidInput(command, error)), exitCode: 2 };
    if (error.expose) return { message: oneLine(error.message), exitCode: 1 };
  }
  if (error instanceof ZodError) return { message: oneLine(error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')), exitCode: 2 };
  if (error instanceof ConfigError || error instanceof DatabaseInUseError) return { message: oneLine(error.message), exitCode: 1 };
  const err = error as Error & { code?: string; errors?: Error[] };
  // pg reports a refused connection as an AggregateError with an empty message.
  const message = err?.message || err?.errors?.[0]?.message || err?.code || String(error);
  return { message: oneLine(message), exitCode: 1, stack: err?.stack };
}
