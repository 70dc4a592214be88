import type { Knex } from 'knex';
import { z } from 'zod';
import { appendAudit, type AuditEntry } from '../audit/audit-log.ts';
import { AppError } from '../errors.ts';
import { appendEvent } from '../events/outbox.ts';
import { parseInput } from '../validation.ts';
import { revokeAllAppPasswords } from './app-passwords.ts';
import { beginAttempt, passwordChangeLockout } from './credential-lockout.ts';
import { passwordChangeQueries } from './password-change-queries.ts';
import type { PasswordHasher } from './password-hashing.ts';
import { userQueries } from './user-queries.ts';
import { passwordSchema } from './users.ts';

type Origin = Pick<AuditEntry, 'ip' | 'userAgent'>;

const changeSchema = z.object({
  currentPassword: z.string().min(1, 'Enter your current password.').max(1024),
  newPassword: passwordSchema,
});

/**
 * Changes the password of a signed-in person. The current password is asked even right after
 * a sign-in (as Google does): an unlocked browser left alone is not enough. App passwords are
 * revoked too (as Google does), since they were handed out under the old password.
 */
export async function changePassword(
  db: Knex,
  hasher: PasswordHasher,
  userId: string,
  input: { currentPassword?: unknown; newPassword?: unknown },
  origin: Origin = {},
): Promise<{ appPasswordsRevoked: number }> {
  const data = parseInput(changeSchema, input);
  const user = await userQueries.byId(db, userId);
  if (!user) throw new AppError('not_found', 'No such account.');
  const attempt = await beginAttempt(db, passwordChangeLockout, userId);
  if (!user.password_hash || !(await hasher.verify(user.password_hash, data.currentPassword))) {
    await appendAudit(db, { action: 'password.change_failed', actorId: userId, subjectId: userId, ...origin, data: {} });
    throw new AppError('invalid_input', 'Your current password is not right.', { fields: { currentPassword: 'This is not your current password.' } });
  }
  await attempt.succeeded();
  if (data.newPassword === data.currentPassword) {
    throw new AppError('invalid_input', 'Choose a password different from your current one.', { fields: { newPassword: 'Same as your current password.' } });
  }
  const hash = await hasher.hash(data.newPassword);
  return db.transaction(async (trx) => {
    await passwordChangeQueries.setPasswordHash(trx, userId, hash);
    const revoked = await revokeAllAppPasswords(trx, userId, 'password_changed', { actorId: userId, ...origin });
    await appendEvent(trx, { type: 'user.updated', userId, data: { changed: ['password'] } });
    await appendAudit(trx, { action: 'password.changed', actorId: userId, subjectId: userId, ...origin, data: { app_passwords_revoked: revoked } });
    return { appPasswordsRevoked: revoked };
  });
}
