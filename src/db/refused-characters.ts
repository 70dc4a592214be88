/**
 * Postgres stores no U+0000: not in text ("invalid byte sequence", SQLSTATE 22021) and not in
 * jsonb (22P05). A parameter carrying one is bad input, to be answered with a 4xx like any other.
 */
const refusedCharacterStates = new Set(['22021', '22P05']);

export const nulCharacterMessage = 'The request contains a character that is not accepted (U+0000).';

export function isRefusedCharacter(error: unknown): boolean {
  return typeof error === 'object' && error !== null && refusedCharacterStates.has(String((error as { code?: unknown }).code));
}

/** A value no row can hold, so no look-up by it can find anything. */
export const cannotBeStored = (value: string) => value.includes('\u0000');
