import type { Knex } from 'knex';
import { AppError } from '../errors.ts';
import { credentialFailureQueries } from './second-factor-queries.ts';

/**
 * Failed attempts at a credential, counted in the database over a sliding window: every hub
 * instance sees the same count, and a lock ends by itself when the oldest failure ages out.
 */
export interface LockoutPolicy {
  kind: string;
  limit: number;
  windowSeconds: number;
  message: string;
}

/** Second factors (TOTP, recovery codes, passkeys as a second step) of one account. */
export const secondFactorLockout: LockoutPolicy = {
  kind: 'second-factor',
  limit: 10,
  windowSeconds: 15 * 60,
  message: 'Too many wrong codes. Wait 15 minutes and try again.',
};

/** App-password verification, per account name. */
export const appPasswordAccountLockout: LockoutPolicy = {
  kind: 'app-password',
  limit: 10,
  windowSeconds: 15 * 60,
  message: 'Too many failed attempts for this account. Try again later.',
};

/** App-password verification, per calling address (many accounts guessed from one place). */
export const appPasswordAddressLockout: LockoutPolicy = {
  kind: 'app-password-ip',
  limit: 50,
  windowSeconds: 15 * 60,
  message: 'Too many failed attempts from this address. Try again later.',
};

/** The current password on the password-change form. */
export const passwordChangeLockout: LockoutPolicy = {
  kind: 'password-change',
  limit: 10,
  windowSeconds: 15 * 60,
  message: 'Too many wrong passwords. Wait 15 minutes and try again.',
};

const windowStart = (policy: LockoutPolicy, now = Date.now()) => new Date(now - policy.windowSeconds * 1000);

/** Seconds until the subject may try again; 0 when it is not locked. */
export async function lockedForSeconds(db: Knex, policy: LockoutPolicy, subject: string): Promise<number> {
  const since = windowStart(policy);
  const failures = await credentialFailureQueries.countSince(db, policy.kind, subject, since);
  if (failures < policy.limit) return 0;
  const oldest = await credentialFailureQueries.oldestSince(db, policy.kind, subject, since);
  const until = (oldest?.getTime() ?? Date.now()) + policy.windowSeconds * 1000;
  return Math.max(1, Math.ceil((until - Date.now()) / 1000));
}

export interface Attempt {
  /** The attempt worked: it does not count against the subject. */
  succeeded(): Promise<void>;
}

/**
 * Counts an attempt before it is checked (and forgets it if it succeeds), so parallel guesses
 * can only over-count, never slip through between a check and a write. Throws 429 with
 * Retry-After once the subject has used up its window.
 */
export async function beginAttempt(db: Knex, policy: LockoutPolicy, subject: string): Promise<Attempt> {
  const id = await credentialFailureQueries.add(db, policy.kind, subject);
  const since = windowStart(policy);
  const count = await credentialFailureQueries.countSince(db, policy.kind, subject, since);
  if (count > policy.limit) {
    const oldest = await credentialFailureQueries.oldestSince(db, policy.kind, subject, since);
    const retryAfter = Math.max(1, Math.ceil(((oldest?.getTime() ?? Date.now()) + policy.windowSeconds * 1000 - Date.now()) / 1000));
    throw new AppError('rate_limited', policy.message, { retryAfter });
  }
  return { succeeded: () => credentialFailureQueries.remove(db, id).then(() => undefined) };
}
