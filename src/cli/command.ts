import type { ParseArgsOptionsConfig } from 'node:util';
import type { Config } from '../platform/config.ts';
import type { CliContext } from './context.ts';

/** A mistake in how the command was called: exit 2 with one line naming what is wrong. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export type Values = Record<string, string | boolean | string[] | undefined>;

/** What a command hands back: the one JSON object printed for --json, and the text for people. */
export interface CommandOutput {
  json: Record<string, unknown>;
  text: string;
}

export interface OptionHelp {
  flag: string;
  text: string;
}

/** What every command declares: its name, help, options and checks. */
export interface CommandInfo {
  /** "users create", "migrate". */
  name: string;
  summary: string;
  /** The synopsis after "uniqverse ". */
  usage: string;
  options: ParseArgsOptionsConfig;
  optionHelp: OptionHelp[];
  examples: string[];
  /** Extra paragraphs for --help. */
  notes?: string[];
  /** Options that must be given. */
  required?: string[];
  /** How a domain field name maps to the flag a person typed (default: the field in kebab-case). */
  fieldFlags?: Record<string, string>;
  /** Checks that need no database, run before it is opened so a typo fails fast. */
  check?(values: Values): void;
  /** Names of the arguments given without a flag, in order (`backup <file>`); their values land in `values` under these names. */
  positionals?: string[];
}

export interface Command extends CommandInfo {
  /** Imports the domain modules it needs inside (await import), so help and usage errors need not load them. */
  run(ctx: CliContext, values: Values): Promise<CommandOutput>;
}

/** A command that opens the database its own way (backup, restore): it gets the configuration only. */
export interface StandaloneCommand extends CommandInfo {
  standalone(config: Config, values: Values): Promise<CommandOutput>;
}

export type AnyCommand = Command | StandaloneCommand;


export function stringValue(values: Values, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

/** A required option: its presence is checked before run(), so this only narrows the type. */
export function requiredString(values: Values, name: string): string {
  const value = stringValue(values, name);
  if (value === undefined) throw new UsageError(`--${name} is required`);
  return value;
}

export function stringList(values: Values, name: string): string[] {
  const value = values[name];
  return Array.isArray(value) ? value : typeof value === 'string' ? [value] : [];
}

export const flag = (values: Values, name: string): boolean => values[name] === true;

export function checkChoice(values: Values, name: string, choices: readonly string[]): void {
  const value = stringValue(values, name);
  if (value !== undefined && !choices.includes(value)) {
    throw new UsageError(`--${name} must be one of ${choices.join(', ')} (got "${value}")`);
  }
}

export const kebab = (field: string) => field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
