import type { Knex } from 'knex';
import { sha256 } from '../platform/crypto/tokens.ts';
import { knownBrowserQueries } from '../queries/known-browsers.ts';

/** The long-lived cookie by which the hub recognises a browser that signed in before (only its hash is stored). */
export const browserCookie = 'uq_device';

/** Whether a cookie value is one the hub could have set (43 base64url characters). */
export const isBrowserToken = (value: string | undefined): value is string => Boolean(value && /^[\w-]{43}$/.test(value));

export const hashBrowserToken = (device: string) => sha256(`device:${device}`);

/**
 * The device an attempt on this account comes from, when the account has signed in from it
 * before: the limits give such a browser a budget of its own (src/platform/rate-limits.ts).
 */
export async function knownBrowserOf(db: Knex, userId: string | undefined, browserHash: string | null | undefined): Promise<string | null> {
  if (!userId || !browserHash) return null;
  return (await knownBrowserQueries.isKnown(db, userId, browserHash)) ? browserHash : null;
}
