import type { Knex } from 'knex';
import { appendAudit, type AuditOrigin } from '../audit/audit-log.ts';
import type { CredentialHasher } from '../platform/crypto/credential-hash.ts';
import type { SecretBox } from '../platform/crypto/secret-box.ts';
import { AppError } from '../platform/errors.ts';
import type { Limits } from '../platform/rate-limits.ts';
import { useRecoveryCode } from './recovery-codes.ts';
import { knownBrowserOf } from './known-browsers.ts';
import { pendingSecondFactorQueries, secondFactorSummaryQuery, type PendingSecondFactorRow } from '../queries/pending-second-factors.ts';
import { findInAnyRegion } from '../db/regions.ts';
import { normaliseTotpCode, verifyTotpCode } from './totp.ts';

type RequestOrigin = AuditOrigin & { ip: string; browserHash?: string | null };

export const acrPassword = 'urn:uniqverse:pwd';
export const acrMultiFactor = 'urn:uniqverse:mfa';
/** How long a person has between a right password and their second factor. */
const pendingTtlMs = 10 * 60_000;

export interface SecondFactors {
  totp: boolean;
  passkeys: number;
  recoveryCodes: number;
}

export const secondFactorsOf = (db: Knex, userId: string): Promise<SecondFactors> => secondFactorSummaryQuery(db, userId);

/**
 * A password alone does not finish the sign-in of someone with an authenticator app or a
 * passkey: they owe a second factor. Recovery codes are a way back in, not a factor of their own.
 */
export const hasSecondFactor = (factors: SecondFactors) => factors.totp || factors.passkeys > 0;

export async function needsSecondFactor(db: Knex, userId: string): Promise<boolean> {
  return hasSecondFactor(await secondFactorsOf(db, userId));
}

/** Remembers, server-side and keyed by the interaction, that this person's password was right. */
export async function beginSecondFactor(db: Knex, interactionUid: string, userId: string, amr: string[]): Promise<void> {
  await pendingSecondFactorQueries.deleteExpired(db);
  await pendingSecondFactorQueries.put(db, { interaction_uid: interactionUid, user_id: userId, amr, expires_at: new Date(Date.now() + pendingTtlMs) });
}

/**
 * The step waiting for this interaction. With data residency the next request knows only the
 * interaction, so each region is asked; the request then moves to the one that has it.
 */
export const pendingSecondFactor = (db: Knex, interactionUid: string): Promise<PendingSecondFactorRow | undefined> =>
  findInAnyRegion(db, (each) => pendingSecondFactorQueries.live(each, interactionUid));

export interface SecondFactorDone {
  userId: string;
  amr: string[];
  acr: string;
  /** Set when a recovery code was spent: how many are left. */
  recoveryCodesLeft?: number;
}

const joinAmr = (first: string[], second: string) => [...new Set([...first, second, 'mfa'])];

/** Ends the pending step (once: a second call finds nothing) with the factor that was proven. */
async function finishPending(db: Knex, interactionUid: string, method: string): Promise<Omit<SecondFactorDone, 'recoveryCodesLeft'>> {
  const pending = await findInAnyRegion(db, (each) => pendingSecondFactorQueries.take(each, interactionUid));
  if (!pending) throw new AppError('bad_request', 'This sign-in took too long. Start again.');
  return { userId: pending.user_id, amr: joinAmr(pending.amr, method), acr: acrMultiFactor };
}

const wrongCode = () =>
  new AppError('unauthorized', 'That code is not right. Enter the 6-digit code from your authenticator app, or a recovery code.', { fields: { code: 'That code is not right.' } });

/**
 * The "Code" field of the second step: six digits are an authenticator-app code, anything else
 * is tried as a recovery code. Each attempt goes through the brute-force limits, on the second
 * factor's own budget (a right password does not refill it); a locked account gets the same
 * answer as a wrong code.
 */
export async function verifySecondFactorCode(
  db: Knex,
  secrets: { totp: SecretBox; credentials: CredentialHasher },
  limits: Limits,
  pending: PendingSecondFactorRow,
  input: string,
  requestOrigin: RequestOrigin,
): Promise<SecondFactorDone> {
  const { browserHash, ...origin } = requestOrigin;
  const totpCode = normaliseTotpCode(input);
  const knownBrowser = await knownBrowserOf(db, pending.user_id, browserHash);
  // Its own budget (TOTP and recovery codes together): only a good second factor clears it.
  const attempt = await limits.check(totpCode ? 'totp' : 'recovery_code', { accountKey: pending.user_id, ip: origin.ip, knownBrowser });
  if (attempt.allowed) {
    if (totpCode) {
      if (await verifyTotpCode(db, secrets.totp, pending.user_id, totpCode)) {
        await limits.succeed(attempt);
        return finishPending(db, pending.interaction_uid, 'otp');
      }
    } else {
      const used = await useRecoveryCode(db, secrets.credentials, pending.user_id, input, origin);
      if (used.ok) {
        await limits.succeed(attempt);
        return { ...(await finishPending(db, pending.interaction_uid, 'otp')), recoveryCodesLeft: used.remaining };
      }
    }
  }
  await appendAudit(db, {
    action: 'signin.second_factor_failed',
    subjectId: pending.user_id,
    ...origin,
    data: { method: totpCode ? 'totp' : 'recovery_code', ...(attempt.allowed ? {} : { locked: true }) },
  });
  await limits.fail(attempt);
  throw wrongCode();
}

/** The second step done with a passkey (already verified by the caller for this user). */
export async function finishSecondFactorWithPasskey(db: Knex, interactionUid: string): Promise<SecondFactorDone> {
  return finishPending(db, interactionUid, 'hwk');
}
