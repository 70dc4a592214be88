import type { Knex } from 'knex';
import { appendAudit } from '../audit/audit-log.ts';
import { AppError, notFound } from '../errors.ts';
import { appendEvent } from '../events/outbox.ts';
import { endAllSessions, type Origin } from '../portal/sessions.ts';
import { userAdminQueries, type AdminUserRow } from './user-admin-queries.ts';

export const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function requireUser(db: Knex, id: string): Promise<AdminUserRow> {
  const user = uuidPattern.test(id) ? await userAdminQueries.byId(db, id) : undefined;
  if (!user) throw notFound('There is no such user.');
  return user;
}

/**
 * Disables an account: it can no longer sign in, its sessions and tokens end (the provider no
 * longer finds the account), and services hear `user.disabled`. Undone by enableUser.
 */
export async function disableUser(db: Knex, id: string, origin: Origin): Promise<void> {
  const user = await requireUser(db, id);
  if (origin.actorId === id) throw new AppError('conflict', 'You cannot disable your own account.');
  if (user.disabled_at) return;
  await db.transaction(async (trx) => {
    await userAdminQueries.setDisabled(trx, id, new Date());
    await appendEvent(trx, { type: 'user.disabled', userId: id, data: { email: user.email, name: user.name } });
    await appendAudit(trx, { action: 'user.disabled', actorId: origin.actorId, subjectId: id, ip: origin.ip, userAgent: origin.userAgent, data: { email: user.email } });
  });
  await endAllSessions(db, id, 'account_disabled', origin);
}

export async function enableUser(db: Knex, id: string, origin: Origin): Promise<void> {
  const user = await requireUser(db, id);
  if (!user.disabled_at) return;
  await db.transaction(async (trx) => {
    await userAdminQueries.setDisabled(trx, id, null);
    await appendEvent(trx, { type: 'user.enabled', userId: id, data: { email: user.email, name: user.name } });
    await appendAudit(trx, { action: 'user.enabled', actorId: origin.actorId, subjectId: id, ip: origin.ip, userAgent: origin.userAgent, data: { email: user.email } });
  });
}
