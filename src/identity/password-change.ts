import type { Knex } from 'knex';
import { z } from 'zod';
import { appendAudit, type AuditEntry } from '../audit/audit-log.ts';
import { AppError } from '../platform/errors.ts';
import { appendEvent } from '../outbox/outbox.ts';
import { parseInput } from '../platform/validation.ts';
import { revokeAllAppPasswords } from './app-passwords.ts';
import type { PasswordHasher } from './password-hashing.ts';
import { checkNewPassword } from './password-policy.ts';
import type { Limits } from '../platform/rate-limits.ts';
import { userQueries } from '../queries/users.ts';

type RequestOrigin = Pick<AuditEntry, 'userAgent'> & { ip: string };

const changeSchema = z.object({
  currentPassword: z.string().min(1, 'Enter your current password.').max(1024),
  newPassword: z.string({ message: 'Enter a new password.' }),
});

/** The policy's verdict, pinned to the "New password" field. */
function checkNewPasswordField(password: string, user: { email: string; name: string }) {
  try {
    checkNewPassword(password, { email: user.email, name: user.name });
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    throw new AppError(error.code, error.message, { fields: { newPassword: Object.values(error.fields ?? {})[0] ?? error.message } });
  }
}

/**
 * Ends every session and grant of the person but the one kept, in the caller's transaction,
 * writing its own events and audit entry: the portal's endAllButSession, passed in because
 * identity does not import from the portal.
 */
export type EndOtherSessions = (trx: Knex, userId: string, keepUid: string, reason: string, origin: RequestOrigin & { actorId: string }) => Promise<{ sessions: number; grants: number }>;

export interface PasswordChangeDeps {
  db: Knex;
  hasher: PasswordHasher;
  limits: Limits;
  endOtherSessions: EndOtherSessions;
}

export interface PasswordChanged {
  /** Other sessions signed out (this browser stays signed in). */
  sessionsEnded: number;
  /** Grants (with their refresh tokens) of services signed in elsewhere, including those whose session had already ended. */
  grantsRevoked: number;
  appPasswordsRevoked: number;
}

/**
 * Changes the password of a signed-in person. The current password is asked even right after
 * a sign-in (as Google does): an unlocked browser left alone is not enough. As Google does,
 * whoever knew the old password is shut out: every other session ends with its services'
 * grants and refresh tokens, and app passwords are revoked; the browser that made the change
 * (`keepSessionUid`) stays signed in. All in one transaction with its events and audit entries.
 */
export async function changePassword(
  { db, hasher, limits, endOtherSessions }: PasswordChangeDeps,
  userId: string,
  keepSessionUid: string,
  input: { currentPassword?: unknown; newPassword?: unknown },
  origin: RequestOrigin,
): Promise<PasswordChanged> {
  const data = parseInput(changeSchema, input);
  const user = await userQueries.byId(db, userId);
  if (!user) throw new AppError('not_found', 'No such account.');
  checkNewPasswordField(data.newPassword, user);
  const attempt = await limits.check('password', { accountKey: userId, ip: origin.ip });
  const good = attempt.allowed && Boolean(user.password_hash) && (await hasher.verify(user.password_hash!, data.currentPassword));
  if (!good) {
    await appendAudit(db, { action: 'password.change_failed', actorId: userId, subjectId: userId, ...origin, data: attempt.allowed ? {} : { locked: true } });
    await limits.fail(attempt);
    throw new AppError('invalid_input', 'Your current password is not right.', { fields: { currentPassword: 'This is not your current password.' } });
  }
  await limits.succeed(attempt);
  if (data.newPassword === data.currentPassword) {
    throw new AppError('invalid_input', 'Choose a password different from your current one.', { fields: { newPassword: 'Same as your current password.' } });
  }
  const hash = await hasher.hash(data.newPassword);
  return db.transaction(async (trx) => {
    await userQueries.setPasswordHash(trx, userId, hash);
    const ended = await endOtherSessions(trx, userId, keepSessionUid, 'password_changed', { actorId: userId, ...origin });
    const appPasswords = await revokeAllAppPasswords(trx, userId, 'password_changed', { actorId: userId, ...origin });
    await appendEvent(trx, { type: 'user.updated', userId, data: { changed: ['password'] } });
    await appendAudit(trx, {
      action: 'password.changed',
      actorId: userId,
      subjectId: userId,
      ...origin,
      data: { sessions_ended: ended.sessions, grants_revoked: ended.grants, app_passwords_revoked: appPasswords },
    });
    return { sessionsEnded: ended.sessions, grantsRevoked: ended.grants, appPasswordsRevoked: appPasswords };
  });
}
