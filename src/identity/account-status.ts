import type { Knex } from 'knex';
import { appendAudit, type ActorOrigin } from '../audit/audit-log.ts';
import { notFound } from '../platform/errors.ts';
import { appendEvent } from '../outbox/outbox.ts';
import { audienceOf } from '../outbox/audience.ts';
import { modelQueries, sessionQueries } from '../queries/oidc-models.ts';
import { revokeAllAppPasswords } from './app-passwords.ts';
import { userQueries } from '../queries/users.ts';


/**
 * Ends every session, grant, refresh token and code of the account at once, in the caller's
 * transaction. (JWT access tokens already handed to services live until they expire, at most
 * their service's access-token TTL; userinfo and introspection refuse them at once, because the
 * account's grants are gone.)
 */
export async function endEverySession(trx: Knex, userId: string, reason: string, origin: ActorOrigin = {}): Promise<number> {
  const sessions = await sessionQueries.countForUser(trx, userId);
  await modelQueries.deleteAllOf(trx, userId);
  await appendAudit(trx, { action: 'session.revoked', actorId: origin.actorId ?? null, subjectId: userId, ip: origin.ip ?? null, userAgent: origin.userAgent ?? null, data: { scope: 'all', reason, sessions } });
  await appendEvent(trx, { type: 'session.revoked', userId, data: { scope: 'all', reason } });
  return sessions;
}

/** Disables an account: it can no longer sign in (findAccount refuses it) and everything it held ends now. */
export async function disableUser(db: Knex, userId: string, origin: ActorOrigin = {}): Promise<void> {
  await db.transaction(async (trx) => {
    const updated = await userQueries.setDisabled(trx, userId, true);
    if (!updated.length) throw notFound('There is no such account.');
    await endEverySession(trx, userId, 'account_disabled', origin);
    await revokeAllAppPasswords(trx, userId, 'account_disabled', origin);
    await appendAudit(trx, { action: 'user.disabled', actorId: origin.actorId ?? null, subjectId: userId, ip: origin.ip ?? null, userAgent: origin.userAgent ?? null, data: {} });
    await appendEvent(trx, { type: 'user.updated', userId, data: { disabled: true } });
  });
}

export async function enableUser(db: Knex, userId: string, origin: ActorOrigin = {}): Promise<void> {
  await db.transaction(async (trx) => {
    const updated = await userQueries.setDisabled(trx, userId, false);
    if (!updated.length) throw notFound('There is no such account.');
    await appendAudit(trx, { action: 'user.enabled', actorId: origin.actorId ?? null, subjectId: userId, ip: origin.ip ?? null, userAgent: origin.userAgent ?? null, data: {} });
    await appendEvent(trx, { type: 'user.updated', userId, data: { disabled: false } });
  });
}

/**
 * Deletes an account and, in the same transaction, everything the provider held for it. The audit
 * log keeps its entries. user.deleted carries the person's email and name, so it must reach only
 * the services they dealt with, each as their privacy choice allows: that audience is read here,
 * before the grants, entitlements and choices go, and recorded with the event.
 */
export async function deleteUser(db: Knex, userId: string, origin: ActorOrigin = {}): Promise<void> {
  await db.transaction(async (trx) => {
    const user = await userQueries.byId(trx, userId);
    if (!user) throw notFound('There is no such account.');
    const audience = await audienceOf(trx, userId);
    await endEverySession(trx, userId, 'account_deleted', origin);
    await userQueries.remove(trx, userId);
    await appendAudit(trx, { action: 'user.deleted', actorId: origin.actorId ?? null, subjectId: userId, ip: origin.ip ?? null, userAgent: origin.userAgent ?? null, data: { email: user.email } });
    await appendEvent(trx, { type: 'user.deleted', userId, data: { email: user.email, name: user.name }, audience });
  });
}
