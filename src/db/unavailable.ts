/**
 * Whether an error means the database could not be reached or went away (a restart, a
 * failover, a full pool), or ended the transaction to break a deadlock or a serialization
 * conflict with another one, rather than that the query itself was wrong. Such a request is
 * answered 503 with Retry-After: the caller may simply try again, and nothing is wrong on its
 * side. (A conflict that reaches a caller is still worth a look: `retryOnConflict` is for the
 * transactions that can meet one.)
 */
const networkCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

/**
 * SQLSTATE connection exceptions (class 08, but not 08P01, a protocol violation our own statement
 * can cause), 57P01-57P03 (shut down, crash, starting up), 53300 (too many connections).
 */
const unavailableStates = new Set(['08000', '08001', '08003', '08004', '08006', '08007', '57P01', '57P02', '57P03', '53300']);
/** SQLSTATE 40P01 (deadlock detected) and 40001 (serialization failure): the transaction was rolled back whole, and may run again. */
const conflictStates = new Set(['40P01', '40001']);

type ErrorFields = { code?: unknown; message?: unknown; name?: unknown };

/** Whether the error or one of its causes (at most five deep) is one that `matches`. */
function alongCauses(error: unknown, matches: (fields: ErrorFields) => boolean): boolean {
  for (let current = error, depth = 0; typeof current === 'object' && current !== null && depth < 5; depth++) {
    if (matches(current as ErrorFields)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** Whether Postgres ended the transaction for a conflict with another one (found along the causes). */
export const isTransactionConflict = (error: unknown): boolean =>
  alongCauses(error, ({ code }) => typeof code === 'string' && conflictStates.has(code));
const unavailableSqlState = (code: string) => unavailableStates.has(code) || conflictStates.has(code);

const lostConnection = /Query read timeout|connection timeout|timeout expired|Connection terminated|Connection ended unexpectedly|terminating connection|not queryable|Timeout acquiring a connection|the database system is (starting up|shutting down|in recovery mode)/i;

export function isDatabaseUnavailable(error: unknown): boolean {
  return alongCauses(error, ({ code, message, name }) =>
    (typeof code === 'string' && (networkCodes.has(code) || (/^[0-9A-Z]{5}$/.test(code) && unavailableSqlState(code)))) ||
    // StorageUnavailableError: Redis, for what the hub keeps there (src/platform/short-lived-store.ts).
    name === 'KnexTimeoutError' || name === 'StorageUnavailableError' ||
    (typeof message === 'string' && lostConnection.test(message)));
}

export const databaseUnavailableMessage = 'UniQVerse is unavailable for a moment (its storage cannot be reached or is busy). Try again shortly.';
/** Seconds a caller is asked to wait: a restarted database is usually back within a few. */
export const databaseRetryAfter = 5;
