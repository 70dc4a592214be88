/**
 * Postgres stores no U+0000: not in text ("invalid byte sequence", SQLSTATE 22021) and not in
 * jsonb (22P05); and its jsonb takes no unpaired UTF-16 surrogate, which JSON.parse lets through
 * from a "\ud800" escape (22P02, "invalid input syntax for type json"). A parameter carrying one
 * is bad input, to be answered with a 4xx like any other.
 */
export function isRefusedCharacter(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (code === '22021' || code === '22P05') return true;
  return code === '22P02' && typeof message === 'string' && message.includes('type json');
}

export const refusedCharacterMessage = 'The request contains a character that is not accepted (U+0000, or half of a UTF-16 surrogate pair).';

/** A value no row can hold, so no look-up by it can find anything. */
export const cannotBeStored = (value: string) => value.includes('\u0000');
