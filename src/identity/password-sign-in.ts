import type { Knex } from 'knex';
import { appendAudit, type AuditEntry } from '../audit/audit-log.ts';
import type { PasswordHasher } from './password-hashing.ts';
import { emailAccountKey, type Limits } from '../platform/rate-limits.ts';
import { userQueries } from '../queries/users.ts';
import { personDirectory } from '../queries/person-directory.ts';
import { checkPassword, type SignInResult } from './users.ts';
import type { UserRow } from '../queries/users.ts';

/** A right password, and whether the person owes a second factor before the sign-in is complete. */
export type PasswordSignInResult = { ok: true; user: UserRow; owesSecondFactor: boolean } | { ok: false };

export interface PasswordSignInDeps {
  db: Knex;
  hasher: PasswordHasher;
  limits: Limits;
}

export type RequestOrigin = Pick<AuditEntry, 'userAgent'> & { ip: string };

/** The hash of the browser's browser cookie (browserHashOf), when it sent one. */
export type SignInOrigin = RequestOrigin & { browserHash?: string | null };

/**
 * The password step of every sign-in form. The attempt is reserved before the password is
 * checked, so parallel guesses cannot pass the limit; a locked account, an unknown email, a
 * disabled account and a wrong password all come back as the same { ok: false }.
 */
export async function passwordSignIn(deps: PasswordSignInDeps, email: string, password: string, signInOrigin: SignInOrigin): Promise<PasswordSignInResult> {
  const { browserHash, ...origin } = signInOrigin;
  const { db, hasher, limits } = deps;
  // A full queue answers 503 before any other work, so a storm costs the hub as little as possible.
  hasher.assertNotSaturated();
  await personDirectory.claimHomeOfEmail(db, email);
  const facts = await userQueries.signInFacts(db, email.trim(), browserHash ?? null);
  const known = facts?.user;
  const knownBrowser = facts?.knownBrowser ? browserHash! : null;
  const attempt = await limits.check('password', { accountKey: known?.id ?? emailAccountKey(email), ip: origin.ip, knownBrowser });
  const failed = async (locked: boolean) => {
    await appendAudit(db, {
      action: 'signin.failed',
      subjectId: known?.id ?? null,
      ...origin,
      data: { method: 'password', email: email.trim().toLowerCase().slice(0, 254), ...(locked ? { locked: true } : {}) },
    });
    await limits.fail(attempt);
    return { ok: false } as const;
  };
  if (!attempt.allowed) return failed(true);
  let result: SignInResult;
  try {
    result = await checkPassword(hasher, known, password);
  } catch (error) {
    // Too busy to check: the guess was never judged, so it must not count towards a lock.
    await limits.release(attempt);
    throw error;
  }
  if (!result.ok) return failed(false);
  await limits.succeed(attempt);
  return { ...result, owesSecondFactor: facts!.owesSecondFactor };
}
