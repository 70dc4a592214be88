import { randomInt } from 'node:crypto';
import type { Knex } from 'knex';
import { appendAudit } from '../audit/audit-log.ts';
import { randomToken, safeEqual, sha256 } from '../platform/crypto/tokens.ts';
import { appendEvent } from '../outbox/outbox.ts';
import type { Mailer } from '../platform/mail/mailer.ts';
import type { MailTemplates } from '../platform/mail/messages.ts';
import { emailTokenQueries, type EmailTokenRow } from '../queries/email-tokens.ts';
import { findInAnyRegion } from '../db/regions.ts';
import type { RequestOrigin } from './password-sign-in.ts';
import { emailAccountKey, type Limits } from '../platform/rate-limits.ts';
import { userQueries, type UserRow } from '../queries/users.ts';
import { personDirectory } from '../queries/person-directory.ts';

export const verificationHours = 24;
/** Wrong codes a single verification mail tolerates before it is spent (the account limit applies too). */
const maxCodeAttempts = 5;

export interface EmailVerificationDeps {
  db: Knex;
  mailer: Mailer;
  mail: MailTemplates;
  issuer: string;
}

const codeHash = (tokenHash: string, code: string) => sha256(`email-code:${tokenHash}:${code}`);

/** Sends a fresh link and code (older ones stop working). The mail goes out in the background. */
export async function startEmailVerification(deps: EmailVerificationDeps, user: UserRow): Promise<void> {
  const token = randomToken(32);
  const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
  const tokenHash = sha256(token);
  await deps.db.transaction(async (trx) => {
    await emailTokenQueries.retireAll(trx, user.id, 'verify_email');
    await emailTokenQueries.insert(trx, {
      user_id: user.id,
      purpose: 'verify_email',
      email: user.email,
      token_hash: tokenHash,
      code_hash: codeHash(tokenHash, code),
      expires_at: new Date(Date.now() + verificationHours * 3600_000),
    });
  });
  const link = `${deps.issuer}/verify-email?token=${encodeURIComponent(token)}`;
  deps.mailer.post(deps.mail.verifyEmail({ to: user.email, name: user.name, locale: user.locale, timeZone: user.time_zone, link, code, hours: verificationHours }));
}

async function markVerified(db: Knex, row: EmailTokenRow, method: 'link' | 'code', origin: Partial<RequestOrigin>): Promise<boolean> {
  return db.transaction(async (trx) => {
    if (!(await emailTokenQueries.use(trx, row.id))) return false;
    // Bound to the address the mail went to: after an email change the old link proves nothing.
    const updated = await userQueries.markEmailVerified(trx, row.user_id, row.email);
    if (!updated.length) return false;
    await emailTokenQueries.retireAll(trx, row.user_id, 'verify_email');
    await appendAudit(trx, { action: 'email.verified', actorId: row.user_id, subjectId: row.user_id, ip: origin.ip ?? null, userAgent: origin.userAgent ?? null, data: { email: row.email, method } });
    await appendEvent(trx, { type: 'user.updated', userId: row.user_id, data: { email: row.email, email_verified: true } });
    return true;
  });
}

export type VerifyResult = { ok: true; email: string } | { ok: false };

export async function verifyEmailByLink(db: Knex, token: string, origin: Partial<RequestOrigin>): Promise<VerifyResult> {
  if (!/^[\w-]{20,100}$/.test(token)) return { ok: false };
  // A link names no person: with data residency each region is asked, and the request moves to the one that has it.
  const row = await findInAnyRegion(db, (each) => emailTokenQueries.byTokenHash(each, 'verify_email', sha256(token)));
  if (!row || row.used_at || new Date(row.expires_at) <= new Date()) return { ok: false };
  return (await markVerified(db, row, 'link', origin)) ? { ok: true, email: row.email } : { ok: false };
}

/** A 6-digit code is guessable, so each try goes through the account's brute-force limit, and a mail's code dies after 5 misses. */
export async function verifyEmailByCode(deps: { db: Knex; limits: Limits }, email: string, code: string, origin: RequestOrigin): Promise<VerifyResult> {
  const { db, limits } = deps;
  await personDirectory.claimHomeOfEmail(db, email);
  const user = await userQueries.byEmail(db, email.trim());
  const attempt = await limits.check('email_code', { accountKey: user?.id ?? emailAccountKey(email), ip: origin.ip });
  if (attempt.allowed && user && /^\d{6}$/.test(code)) {
    const row = await emailTokenQueries.liveFor(db, user.id, 'verify_email');
    if (row?.code_hash && row.attempts < maxCodeAttempts) {
      if (safeEqual(row.code_hash, codeHash(row.token_hash, code)) && (await markVerified(db, row, 'code', origin))) {
        await limits.succeed(attempt);
        return { ok: true, email: row.email };
      }
      await emailTokenQueries.countAttempt(db, row.id);
    }
  }
  await limits.fail(attempt);
  return { ok: false };
}

/** "Send a new code": answers the same whether or not the account exists or is already verified. */
export async function resendVerification(deps: EmailVerificationDeps & { limits: Limits }, email: string, origin: RequestOrigin): Promise<void> {
  const attempt = await deps.limits.check('reset_request', { accountKey: `verify:${email.trim().toLowerCase()}`, ip: origin.ip });
  if (!attempt.allowed) return;
  await personDirectory.claimHomeOfEmail(deps.db, email);
  const user = await userQueries.byEmail(deps.db, email.trim());
  if (!user || user.email_verified || user.disabled_at) return;
  await startEmailVerification(deps, user);
}
