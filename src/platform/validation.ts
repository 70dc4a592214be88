import type { z } from 'zod';
import { AppError, type FieldErrors } from './errors.ts';

/** Parses untrusted input; a failure becomes a 400 naming each bad field, never a 500. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const fields: FieldErrors = {};
  for (const issue of result.error.issues) {
    const key = issue.path.join('.') || '_';
    fields[key] ??= issue.message;
  }
  const message = Object.entries(fields)
    .map(([field, text]) => (field === '_' ? text : `${field}: ${text}`))
    .join('; ');
  throw new AppError('invalid_input', message, { fields });
}
