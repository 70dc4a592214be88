import type { Knex } from 'knex';
import { appendAudit } from '../audit/audit-log.ts';
import { randomToken, sha256 } from '../platform/crypto/tokens.ts';
import { AppError } from '../platform/errors.ts';
import { appendEvent } from '../outbox/outbox.ts';
import type { Mailer } from '../platform/mail/mailer.ts';
import type { MailTemplates } from '../platform/mail/messages.ts';
import { endEverySession } from './account-status.ts';
import { revokeAllAppPasswords } from './app-passwords.ts';
import { emailTokenQueries, type EmailTokenRow } from '../queries/email-tokens.ts';
import { findInAnyRegion } from '../db/regions.ts';
import { passkeyQueries } from '../queries/passkeys.ts';
import type { PasswordHasher } from './password-hashing.ts';
import { checkNewPassword } from './password-policy.ts';
import type { RequestOrigin } from './password-sign-in.ts';
import type { Limits } from '../platform/rate-limits.ts';
import { recoveryCodeQueries } from '../queries/recovery-codes.ts';
import { totpQueries } from '../queries/totp-factors.ts';
import { userQueries, type UserRow } from '../queries/users.ts';
import { personDirectory } from '../queries/person-directory.ts';

export const resetMinutes = 30;

export interface PasswordResetDeps {
  db: Knex;
  hasher: PasswordHasher;
  limits: Limits;
  mailer: Mailer;
  mail: MailTemplates;
  issuer: string;
}

export const resetLinkExpired = () =>
  new AppError('invalid_input', 'This reset link has expired or was already used. Ask for a new one.');

/**
 * "Forgot password?": mails a single-use link bound to the account, valid for 30 minutes (only
 * its hash is stored). The answer and its timing are the same whether or not the account exists:
 * the look-up is cheap and the mail is sent in the background.
 */
export async function requestPasswordReset(deps: PasswordResetDeps, email: string, origin: RequestOrigin): Promise<void> {
  const attempt = await deps.limits.check('reset_request', { accountKey: `reset:${email.trim().toLowerCase()}`, ip: origin.ip });
  if (!attempt.allowed) return;
  await personDirectory.claimHomeOfEmail(deps.db, email);
  const user = await userQueries.byEmail(deps.db, email.trim());
  if (!user || user.disabled_at) return;
  const token = randomToken(32);
  await deps.db.transaction(async (trx) => {
    await emailTokenQueries.retireAll(trx, user.id, 'reset_password');
    await emailTokenQueries.insert(trx, {
      user_id: user.id,
      purpose: 'reset_password',
      email: user.email,
      token_hash: sha256(token),
      code_hash: null,
      expires_at: new Date(Date.now() + resetMinutes * 60_000),
    });
    await appendAudit(trx, { action: 'password.reset_requested', subjectId: user.id, ...origin, data: {} });
  });
  const link = `${deps.issuer}/reset/${encodeURIComponent(token)}`;
  deps.mailer.post(deps.mail.resetPassword({ to: user.email, name: user.name, locale: user.locale, timeZone: user.time_zone, link, minutes: resetMinutes, ip: origin.ip }));
}

/** The live reset behind a link, and its user; anything else (unknown, used, expired, address changed) is an expired link. */
export async function openResetLink(db: Knex, token: string): Promise<{ row: EmailTokenRow; user: UserRow }> {
  if (!/^[\w-]{20,100}$/.test(token)) throw resetLinkExpired();
  // A link names no person: with data residency each region is asked, and the request moves to the one that has it.
  const row = await findInAnyRegion(db, (each) => emailTokenQueries.byTokenHash(each, 'reset_password', sha256(token)));
  if (!row || row.used_at || new Date(row.expires_at) <= new Date()) throw resetLinkExpired();
  const user = await userQueries.byId(db, row.user_id);
  if (!user || user.disabled_at || user.email.toLowerCase() !== row.email.toLowerCase()) throw resetLinkExpired();
  return { row, user };
}

/**
 * Sets the new password, uses up the link (of two parallel uses one wins), ends every session
 * and refresh token of the account and revokes its app passwords, all in one transaction. It
 * signs no one in: the person signs in afterwards with the new password and, if they have one,
 * their second factor, so a reset never bypasses it.
 */
/**
 * A reset proves the mailbox, so an account whose address was never confirmed is confirmed by it.
 * Whoever set that account up before did so without the mailbox, perhaps with someone else's
 * address: every factor they may have left on it goes (factors need a confirmed address now,
 * but accounts from before that rule may hold some). Returns what was removed.
 */
async function takeBackUnverifiedAccount(trx: Knex, user: UserRow): Promise<{ passkeys: number; totp: number; recovery_codes: number }> {
  const removed = {
    passkeys: await passkeyQueries.removeAll(trx, user.id),
    totp: await totpQueries.remove(trx, user.id),
    recovery_codes: await recoveryCodeQueries.removeAll(trx, user.id),
  };
  for (const [method, count] of [['passkey', removed.passkeys], ['totp', removed.totp], ['recovery_codes', removed.recovery_codes]] as const) {
    if (count) await appendEvent(trx, { type: 'mfa.removed', userId: user.id, data: { method, reason: 'password_reset_of_unconfirmed_address' } });
  }
  await userQueries.markEmailVerified(trx, user.id, user.email);
  return removed;
}

export async function completePasswordReset(deps: PasswordResetDeps, token: string, password: unknown, origin: RequestOrigin): Promise<UserRow> {
  const tries = await deps.limits.check('reset_token', { ip: origin.ip });
  if (!tries.allowed) throw resetLinkExpired();
  let opened: Awaited<ReturnType<typeof openResetLink>>;
  try {
    opened = await openResetLink(deps.db, token);
  } catch (error) {
    await deps.limits.fail(tries);
    throw error;
  }
  const { row, user } = opened;
  const newPassword = checkNewPassword(password, { email: user.email, name: user.name });
  const hash = await deps.hasher.hash(newPassword);
  await deps.db.transaction(async (trx) => {
    if (!(await emailTokenQueries.use(trx, row.id))) throw resetLinkExpired();
    await userQueries.setPasswordHash(trx, user.id, hash);
    await emailTokenQueries.retireAll(trx, user.id, 'reset_password');
    const sessions = await endEverySession(trx, user.id, 'password_reset', { actorId: user.id, ...origin });
    const appPasswords = await revokeAllAppPasswords(trx, user.id, 'password_reset', { actorId: user.id, ...origin });
    const unverified = user.email_verified ? null : await takeBackUnverifiedAccount(trx, user);
    await appendAudit(trx, {
      action: 'password.reset',
      actorId: user.id,
      subjectId: user.id,
      ...origin,
      data: { sessions_ended: sessions, app_passwords_revoked: appPasswords, ...(unverified ? { email_verified: true, factors_removed: unverified } : {}) },
    });
    await appendEvent(trx, { type: 'user.updated', userId: user.id, data: { password_changed: true } });
  });
  await deps.limits.succeed(tries);
  deps.mailer.post(deps.mail.securityNotice({
    to: user.email,
    name: user.name,
    locale: user.locale,
    timeZone: user.time_zone,
    notice: 'passwordReset',
    ip: origin.ip,
    device: origin.userAgent,
  }));
  return user;
}
