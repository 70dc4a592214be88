import type { Knex } from 'knex';
import { AppError } from '../errors.ts';
import { deleteUser } from '../identity/account-status.ts';
import type { PasswordHasher } from '../identity/password-hashing.ts';
import { userQueries } from '../identity/user-queries.ts';
import type { Origin } from './sessions.ts';

/**
 * A person deletes their own account, confirming with their password: every session, grant and
 * token ends, every credential goes with the user row, and `user.deleted` (email and name) is
 * written to the outbox in the same transaction, so every service hears of it.
 */
export async function deleteAccount(db: Knex, hasher: PasswordHasher, userId: string, password: string, origin: Origin = {}): Promise<void> {
  const user = await userQueries.byId(db, userId);
  if (!user) throw new AppError('not_found', 'This account no longer exists.');
  if (!password) throw new AppError('invalid_input', 'Enter your password to delete your account.', { fields: { password: 'Enter your password.' } });
  const good = user.password_hash ? await hasher.verify(user.password_hash, password) : false;
  if (!good) throw new AppError('invalid_input', 'That is not your password.', { fields: { password: 'That is not your password.' } });
  await deleteUser(db, userId, { ...origin, actorId: origin.actorId ?? userId });
}
