import { randomInt } from 'node:crypto';
import type { Knex } from 'knex';
import { z } from 'zod';
import { appendAudit } from '../audit/audit-log.ts';
import { randomToken, safeEqual, sha256 } from '../platform/crypto/tokens.ts';
import { AppError } from '../platform/errors.ts';
import { appendEvent } from '../outbox/outbox.ts';
import type { Mailer } from '../platform/mail/mailer.ts';
import type { MailTemplates } from '../platform/mail/messages.ts';
import { parseInput } from '../platform/validation.ts';
import { emailTokenQueries, type EmailTokenRow } from '../queries/email-tokens.ts';
import { findInAnyRegion } from '../db/regions.ts';
import type { PasswordHasher } from './password-hashing.ts';
import type { RequestOrigin } from './password-sign-in.ts';
import type { Limits } from '../platform/rate-limits.ts';
import { userQueries } from '../queries/users.ts';
import { personDirectory } from '../queries/person-directory.ts';

/** How long the code and the link sent to the new address work. */
export const changeMinutes = 60;
/** Wrong codes one change tolerates before it is spent (the account's brute-force limit applies too). */
const maxCodeAttempts = 5;

export interface EmailChangeDeps {
  db: Knex;
  hasher: PasswordHasher;
  limits: Limits;
  mailer: Mailer;
  mail: MailTemplates;
  issuer: string;
}

const requestSchema = z.object({
  newEmail: z
    .string({ message: 'Enter your new email address.' })
    .trim()
    .toLowerCase()
    .min(1, 'Enter your new email address.')
    .max(254, 'Use at most 254 characters.')
    .email('Enter a valid email address, like name@example.com.'),
  password: z.string({ message: 'Enter your password.' }).min(1, 'Enter your password.').max(1024),
});

const codeHash = (tokenHash: string, code: string) => sha256(`email-change-code:${tokenHash}:${code}`);

/**
 * Asks to change the sign-in email (the route has checked for a recent sign-in). The password is
 * asked as well, through the account's brute-force limit. A code and a link go to the NEW
 * address; nothing changes until one of them comes back. Whether another account has that
 * address is not looked at here: the answer must be the same either way (confirmation says).
 */
export async function requestEmailChange(
  deps: EmailChangeDeps,
  userId: string,
  input: { newEmail?: unknown; password?: unknown },
  origin: RequestOrigin,
): Promise<{ email: string }> {
  const { db, limits } = deps;
  const data = parseInput(requestSchema, input);
  const user = await userQueries.byId(db, userId);
  if (!user || user.disabled_at) throw new AppError('not_found', 'No such account.');
  if (data.newEmail === user.email.toLowerCase()) {
    throw new AppError('invalid_input', 'That is already your email.', { fields: { newEmail: 'This is already your email.' } });
  }

  const attempt = await limits.check('password', { accountKey: userId, ip: origin.ip });
  const good = attempt.allowed && Boolean(user.password_hash) && (await deps.hasher.verify(user.password_hash!, data.password));
  if (!good) {
    await appendAudit(db, { action: 'email.change_failed', actorId: userId, subjectId: userId, ...origin, data: attempt.allowed ? {} : { locked: true } });
    await limits.fail(attempt);
    throw new AppError('invalid_input', 'Your password is not right.', { fields: { password: 'This is not your password.' } });
  }
  await limits.succeed(attempt);

  // Each request mails a stranger's address if mistyped: counted like reset mails (3 an hour per account).
  const mails = await limits.check('reset_request', { accountKey: `email-change:${userId}`, ip: origin.ip });
  if (!mails.allowed) {
    throw new AppError('rate_limited', 'You asked for several email changes in a short time. Try again in an hour.', { retryAfter: mails.retryAfter });
  }

  const token = randomToken(32);
  const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
  const tokenHash = sha256(token);
  await db.transaction(async (trx) => {
    // One pending change at a time: a new request cancels the one before.
    await emailTokenQueries.retireAll(trx, userId, 'change_email');
    await emailTokenQueries.insert(trx, {
      user_id: userId,
      purpose: 'change_email',
      email: data.newEmail,
      token_hash: tokenHash,
      code_hash: codeHash(tokenHash, code),
      expires_at: new Date(Date.now() + changeMinutes * 60_000),
    });
    await appendAudit(trx, { action: 'email.change_requested', actorId: userId, subjectId: userId, ...origin, data: { new_email: data.newEmail } });
  });
  const link = `${deps.issuer}/account/security/email/confirm?token=${encodeURIComponent(token)}`;
  deps.mailer.post(deps.mail.changeEmail({ to: data.newEmail, name: user.name, locale: user.locale, timeZone: user.time_zone, link, code, minutes: changeMinutes }));
  return { email: data.newEmail };
}

/** The change waiting for its code, if any. */
export async function pendingEmailChange(db: Knex, userId: string): Promise<{ email: string; expiresAt: Date } | null> {
  const row = await emailTokenQueries.liveFor(db, userId, 'change_email');
  return row ? { email: row.email, expiresAt: new Date(row.expires_at) } : null;
}

/** "Cancel": the code and the link stop working; the account keeps its email. */
export async function cancelEmailChange(db: Knex, userId: string, origin: RequestOrigin): Promise<void> {
  await db.transaction(async (trx) => {
    const cancelled = await emailTokenQueries.retireAll(trx, userId, 'change_email');
    if (cancelled) await appendAudit(trx, { action: 'email.change_cancelled', actorId: userId, subjectId: userId, ...origin, data: {} });
  });
}

export type ConfirmResult =
  | { ok: true; email: string; previous: string }
  /** invalid: wrong, expired or used; taken: another account signs in with the address; other_account: a link of someone else's change. */
  | { ok: false; reason: 'invalid' | 'taken' | 'other_account' };

const isUniqueViolation = (error: unknown) => (error as { code?: unknown } | null)?.code === '23505';

/**
 * Makes the proven address the sign-in email, in one transaction with the audit entry and the
 * event; every other pending change, verification and reset link of the account (all bound to
 * the old address) stops working. Then the OLD address is told.
 */
async function applyChange(deps: EmailChangeDeps, row: EmailTokenRow, method: 'code' | 'link', origin: RequestOrigin): Promise<ConfirmResult> {
  let outcome: ConfirmResult & { name?: string; locale?: string | null; timeZone?: string | null };
  // With residency on, the directory's key of the address moves too (its unique key also says when a person elsewhere has it).
  let rekeyed: { userId: string; previous: string } | null = null;
  try {
    outcome = await deps.db.transaction(async (trx): Promise<ConfirmResult & { name?: string; locale?: string | null; timeZone?: string | null }> => {
      if (!(await emailTokenQueries.use(trx, row.id))) return { ok: false, reason: 'invalid' };
      const user = await userQueries.lock(trx, row.user_id);
      if (!user || user.disabled_at || user.email.toLowerCase() === row.email.toLowerCase()) return { ok: false, reason: 'invalid' };
      if (await userQueries.otherAccountWith(trx, row.email, user.id)) {
        await emailTokenQueries.retireAll(trx, user.id, 'change_email');
        await appendAudit(trx, { action: 'email.change_refused', actorId: user.id, subjectId: user.id, ...origin, data: { new_email: row.email, reason: 'taken' } });
        return { ok: false, reason: 'taken' };
      }
      await userQueries.setEmail(trx, user.id, row.email);
      for (const purpose of ['change_email', 'verify_email', 'reset_password'] as const) await emailTokenQueries.retireAll(trx, user.id, purpose);
      await appendAudit(trx, { action: 'email.changed', actorId: user.id, subjectId: user.id, ...origin, data: { old_email: user.email, new_email: row.email, method } });
      await appendEvent(trx, { type: 'user.updated', userId: user.id, data: { changed: ['email'], email: row.email, name: user.name, email_verified: true } });
      await personDirectory.rekey(deps.db, user.id, row.email);
      rekeyed = { userId: user.id, previous: user.email };
      return { ok: true, email: row.email, previous: user.email, name: user.name, locale: user.locale, timeZone: user.time_zone };
    });
  } catch (error) {
    const undo = rekeyed as { userId: string; previous: string } | null;
    if (undo) await personDirectory.rekey(deps.db, undo.userId, undo.previous);
    // Another account took the address between our look and our write (the unique index said so).
    if (isUniqueViolation(error)) return { ok: false, reason: 'taken' };
    throw error;
  }
  if (outcome.ok) {
    deps.mailer.post(deps.mail.emailChanged({ to: outcome.previous, name: outcome.name ?? '', locale: outcome.locale, timeZone: outcome.timeZone, email: outcome.email, ip: origin.ip, device: origin.userAgent }));
    return { ok: true, email: outcome.email, previous: outcome.previous };
  }
  return outcome;
}

/**
 * The 6-digit code, typed by the signed-in person. A code is guessable, so each try goes through
 * the account's brute-force limit, and one change's code dies after 5 misses.
 */
export async function confirmEmailChangeByCode(deps: EmailChangeDeps, userId: string, code: string, origin: RequestOrigin): Promise<ConfirmResult> {
  const attempt = await deps.limits.check('email_code', { accountKey: userId, ip: origin.ip });
  if (attempt.allowed && /^\d{6}$/.test(code)) {
    const row = await emailTokenQueries.liveFor(deps.db, userId, 'change_email');
    if (row?.code_hash && row.attempts < maxCodeAttempts) {
      if (safeEqual(row.code_hash, codeHash(row.token_hash, code))) {
        const result = await applyChange(deps, row, 'code', origin);
        if (result.ok || result.reason === 'taken') {
          await deps.limits.succeed(attempt);
          return result;
        }
      } else {
        await emailTokenQueries.countAttempt(deps.db, row.id);
      }
    }
  }
  await deps.limits.fail(attempt);
  return { ok: false, reason: 'invalid' };
}

/**
 * The link from the mail, opened by the signed-in person. It only works for the account that
 * asked: whoever owns a mistyped address must not be able to attach it to someone's account.
 */
export async function confirmEmailChangeByLink(deps: EmailChangeDeps, userId: string, token: string, origin: RequestOrigin): Promise<ConfirmResult> {
  if (!/^[\w-]{20,100}$/.test(token)) return { ok: false, reason: 'invalid' };
  // A link names no person: with data residency each region is asked, and the request moves to the one that has it.
  const row = await findInAnyRegion(deps.db, (each) => emailTokenQueries.byTokenHash(each, 'change_email', sha256(token)));
  if (!row || row.used_at || new Date(row.expires_at) <= new Date()) return { ok: false, reason: 'invalid' };
  if (row.user_id !== userId) return { ok: false, reason: 'other_account' };
  return applyChange(deps, row, 'link', origin);
}
