import type { Knex } from 'knex';
import { appendAudit } from '../audit/audit-log.ts';
import { AppError } from '../platform/errors.ts';
import { deleteUser } from '../identity/account-status.ts';
import type { PasswordHasher } from '../identity/password-hashing.ts';
import type { Limits } from '../platform/rate-limits.ts';
import type { Mailer } from '../platform/mail/mailer.ts';
import { userQueries } from '../queries/users.ts';
import type { ActorOrigin } from '../audit/audit-log.ts';

export interface AccountDeletionDeps {
  db: Knex;
  hasher: PasswordHasher;
  limits: Limits;
  /** Its development mailbox forgets the person's mail. */
  mailer: Pick<Mailer, 'forget'>;
}

const wrongPassword = () => new AppError('invalid_input', 'That is not your password.', { fields: { password: 'That is not your password.' } });

/**
 * A person deletes their own account, confirming with their password: every session, grant and
 * token ends, every credential goes with the user row, every other copy of their details is
 * erased (deleteUser), and `user.deleted` (their id only) is written to the outbox in the same
 * transaction, so every service they dealt with hears of it. Then the development mailbox
 * forgets the mail sent to them.
 *
 * The password goes through the account's password budget, the one the sign-in form, the
 * password change and the email change spend too, so a stolen session cannot guess it here
 * faster than anywhere else; a locked attempt is answered exactly as a wrong password, and every
 * failure is audited (`user.delete_failed`, with `locked`).
 */
export async function deleteAccount(deps: AccountDeletionDeps, userId: string, password: string, origin: ActorOrigin & { ip: string }): Promise<void> {
  const { db, hasher, limits } = deps;
  const user = await userQueries.byId(db, userId);
  if (!user) throw new AppError('not_found', 'This account no longer exists.');
  if (!password) throw new AppError('invalid_input', 'Enter your password to delete your account.', { fields: { password: 'Enter your password.' } });
  const attempt = await limits.check('password', { accountKey: userId, ip: origin.ip });
  let good = false;
  if (attempt.allowed && user.password_hash) {
    try {
      good = await hasher.verify(user.password_hash, password);
    } catch (error) {
      // Too busy to check: never judged, so not counted.
      await limits.release(attempt);
      throw error;
    }
  }
  if (!good) {
    await appendAudit(db, { action: 'user.delete_failed', actorId: userId, subjectId: userId, ip: origin.ip, userAgent: origin.userAgent ?? null, data: attempt.allowed ? {} : { locked: true } });
    await limits.fail(attempt);
    throw wrongPassword();
  }
  await limits.succeed(attempt);
  const erased = await deleteUser(db, userId, { ...origin, actorId: origin.actorId ?? userId });
  await deps.mailer.forget(erased.emails);
}
