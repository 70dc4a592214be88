import type { Knex } from 'knex';
import { appendAudit } from '../audit/audit-log.ts';
import { AppError } from '../errors.ts';
import { appendEvent } from '../events/outbox.ts';
import type { PasswordHasher } from '../identity/password-hashing.ts';
import { userQueries } from '../identity/user-queries.ts';
import type { Origin } from './sessions.ts';

/**
 * Deletes a person's account after they confirm it with their password: every session, grant and
 * token ends, every credential goes with the user row (the tables cascade), and `user.deleted`
 * goes out in the same transaction so every service hears of it.
 */
export async function deleteAccount(db: Knex, hasher: PasswordHasher, userId: string, password: string, origin: Origin = {}): Promise<void> {
  const user = await userQueries.byId(db, userId);
  if (!user) throw new AppError('not_found', 'This account no longer exists.');
  if (!password) throw new AppError('invalid_input', 'Enter your password to delete your account.', { fields: { password: 'Enter your password.' } });
  const good = user.password_hash ? await hasher.verify(user.password_hash, password) : false;
  if (!good) throw new AppError('invalid_input', 'That is not your password.', { fields: { password: 'That is not your password.' } });
  await db.transaction(async (trx) => {
    const grantIds = (await trx('oidc_models').where({ model: 'Grant', account_id: userId }).select('id')).map((r: { id: string }) => r.id);
    if (grantIds.length) await trx('oidc_models').whereIn('grant_id', grantIds).delete();
    await trx('oidc_models').where({ account_id: userId }).delete();
    await appendEvent(trx, { type: 'user.deleted', userId, data: { email: user.email, name: user.name } });
    await appendAudit(trx, { action: 'account.deleted', actorId: origin.actorId ?? userId, subjectId: userId, ip: origin.ip, userAgent: origin.userAgent, data: { email: user.email } });
    await trx('users').where({ id: userId }).delete();
  });
}
