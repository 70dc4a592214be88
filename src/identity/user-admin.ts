import type { Knex } from 'knex';
import { AppError, notFound } from '../platform/errors.ts';
import type { ActorOrigin } from '../audit/audit-log.ts';
import { disableUser as disableAccount, enableUser as enableAccount } from './account-status.ts';
import { userQueries, type AdminUserRow } from '../queries/users.ts';

export const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function requireUser(db: Knex, id: string): Promise<AdminUserRow> {
  const user = uuidPattern.test(id) ? await userQueries.adminById(db, id) : undefined;
  if (!user) throw notFound('There is no such user.');
  return user;
}

/**
 * An administrator disables an account (it can no longer sign in, and every session, grant,
 * token and app password ends); enabling it undoes the disabling. Nobody disables themselves.
 */
export async function disableUser(db: Knex, id: string, origin: ActorOrigin): Promise<void> {
  const user = await requireUser(db, id);
  if (origin.actorId === id) throw new AppError('conflict', 'You cannot disable your own account.');
  if (!user.disabled_at) await disableAccount(db, id, origin);
}

export async function enableUser(db: Knex, id: string, origin: ActorOrigin): Promise<void> {
  const user = await requireUser(db, id);
  if (user.disabled_at) await enableAccount(db, id, origin);
}
