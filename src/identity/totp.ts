import type { Knex } from 'knex';
import { generateSecret, generateURI, verify } from 'otplib';
import QRCode from 'qrcode';
import { appendAudit, type AuditOrigin } from '../audit/audit-log.ts';
import type { SecretBox } from '../platform/crypto/secret-box.ts';
import { AppError, conflict } from '../platform/errors.ts';
import { appendEvent } from '../outbox/outbox.ts';
import { totpQueries } from '../queries/totp-factors.ts';
import { requireVerifiedEmail } from './verified-email.ts';


/** Authenticator-app defaults (SHA-1, 6 digits, 30 s), which every app understands. */
const period = 30;
/** ±1 time step of clock drift: a code from the step before or after the current one is accepted. */
const drift = period;
/** An unconfirmed seed is reused for this long, so reloading the set-up page keeps the QR code the person scanned. */
const enrolmentReuseMs = 30 * 60_000;

export const totpIssuer = 'UniQVerse';

export interface TotpEnrolment {
  /** Upper-case base32, as authenticator apps expect it typed. */
  secret: string;
  uri: string;
  qrCode: string;
}

export interface TotpStatus {
  enabled: boolean;
  confirmedAt: Date | null;
}

export async function totpStatus(db: Knex, userId: string): Promise<TotpStatus> {
  const row = await totpQueries.forUser(db, userId);
  return { enabled: Boolean(row?.confirmed_at), confirmedAt: row?.confirmed_at ?? null };
}

/** The seed for a new authenticator app, stored sealed and unconfirmed until the first good code. */
export async function startTotpEnrolment(db: Knex, box: SecretBox, user: { id: string; email: string }): Promise<TotpEnrolment> {
  await requireVerifiedEmail(db, user.id);
  const existing = await totpQueries.forUser(db, user.id);
  if (existing?.confirmed_at) throw conflict('An authenticator app is already set up. Remove it first to set up another one.');
  let secret: string;
  if (existing && Date.now() - new Date(existing.created_at).getTime() < enrolmentReuseMs) {
    secret = box.open(existing.secret_sealed);
  } else {
    secret = generateSecret({ length: 20 }).toUpperCase();
    await totpQueries.putUnconfirmed(db, user.id, box.seal(secret));
  }
  const uri = generateURI({ issuer: totpIssuer, label: user.email, secret, period });
  const qrCode = await QRCode.toDataURL(uri, { errorCorrectionLevel: 'M', margin: 2, width: 240 });
  return { secret, uri, qrCode };
}

const codePattern = /^\d{6}$/;

/** Normalises what a person typed ("123 456", "123-456") to six digits, or null. */
export function normaliseTotpCode(input: string): string | null {
  const code = input.replace(/[\s-]/g, '');
  return codePattern.test(code) ? code : null;
}

/** The time step the code belongs to (within ±1 step and after `afterTimeStep`), or null. */
async function matchingTimeStep(secret: string, code: string, afterTimeStep: number | null, epoch?: number): Promise<number | null> {
  const result = await verify({
    secret,
    token: code,
    epochTolerance: drift,
    ...(afterTimeStep === null ? {} : { afterTimeStep }),
    ...(epoch === undefined ? {} : { epoch }),
  }).catch(() => ({ valid: false as const }));
  return result.valid && 'timeStep' in result ? result.timeStep : null;
}

/** Confirms the enrolment with a first code from the app; the factor is on from here. */
export async function confirmTotpEnrolment(db: Knex, box: SecretBox, userId: string, input: string, origin: AuditOrigin = {}): Promise<void> {
  await requireVerifiedEmail(db, userId);
  const row = await totpQueries.forUser(db, userId);
  if (!row) throw new AppError('invalid_input', 'Start the authenticator app set-up again.', { fields: { code: 'Start the set-up again.' } });
  if (row.confirmed_at) throw conflict('The authenticator app is already set up.');
  const code = normaliseTotpCode(input);
  const step = code ? await matchingTimeStep(box.open(row.secret_sealed), code, null) : null;
  if (step === null) {
    throw new AppError('invalid_input', 'That code is not right. Enter the 6-digit code your app shows now.', { fields: { code: 'That code is not right.' } });
  }
  await db.transaction(async (trx) => {
    if (!(await totpQueries.confirm(trx, userId, step))) throw conflict('The authenticator app is already set up.');
    await appendEvent(trx, { type: 'mfa.enrolled', userId, data: { method: 'totp' } });
    await appendAudit(trx, { action: 'mfa.enrolled', actorId: userId, subjectId: userId, ...origin, data: { method: 'totp' } });
  });
}

/**
 * Checks a sign-in code. Each code is accepted once: the time step it belongs to is recorded,
 * and that step and every older one are refused afterwards.
 */
export async function verifyTotpCode(db: Knex, box: SecretBox, userId: string, input: string): Promise<boolean> {
  const row = await totpQueries.forUser(db, userId);
  if (!row?.confirmed_at) return false;
  const code = normaliseTotpCode(input);
  if (!code) return false;
  const last = row.last_time_step === null ? null : Number(row.last_time_step);
  const step = await matchingTimeStep(box.open(row.secret_sealed), code, last);
  if (step === null) return false;
  return totpQueries.useTimeStep(db, userId, step);
}

export async function removeTotp(db: Knex, userId: string, origin: AuditOrigin = {}): Promise<boolean> {
  return db.transaction(async (trx) => {
    const row = await totpQueries.forUser(trx, userId);
    if (!row) return false;
    await totpQueries.remove(trx, userId);
    if (row.confirmed_at) {
      await appendEvent(trx, { type: 'mfa.removed', userId, data: { method: 'totp' } });
      await appendAudit(trx, { action: 'mfa.removed', actorId: userId, subjectId: userId, ...origin, data: { method: 'totp' } });
    }
    return true;
  });
}
