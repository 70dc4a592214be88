import { isTransactionConflict } from './unavailable.ts';

/**
 * Runs a transaction again when Postgres ended it to break a deadlock or a serialization
 * conflict: it was rolled back whole, so running it again is safe, and the person whose
 * request it is (a sign-in whose password was right) should not be the one who pays for it.
 * `run` must do nothing outside the transaction that cannot be done twice.
 */
export async function retryOnConflict<T>(run: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      if (attempt >= attempts || !isTransactionConflict(error)) throw error;
      // A short random pause, so the two that met do not meet again in step.
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20 * attempt));
    }
  }
}
