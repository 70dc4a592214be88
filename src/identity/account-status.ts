import type { Knex } from 'knex';
import { appendAudit, type ActorOrigin } from '../audit/audit-log.ts';
import { notFound } from '../platform/errors.ts';
import { appendEvent } from '../outbox/outbox.ts';
import { audienceOf } from '../outbox/audience.ts';
import { modelQueries, sessionQueries } from '../queries/oidc-models.ts';
import { revokeAllAppPasswords } from './app-passwords.ts';
import { userQueries } from '../queries/users.ts';
import { personDirectory } from '../queries/person-directory.ts';
import { eraseTracesOf, type ErasedPerson } from './erasure.ts';


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
  // In the person's home region (data residency): an administrator may be of another.
  await personDirectory.forPerson(db, userId, () => db.transaction(async (trx) => {
    const updated = await userQueries.setDisabled(trx, userId, true);
    if (!updated.length) throw notFound('There is no such account.');
    await endEverySession(trx, userId, 'account_disabled', origin);
    await revokeAllAppPasswords(trx, userId, 'account_disabled', origin);
    await appendAudit(trx, { action: 'user.disabled', actorId: origin.actorId ?? null, subjectId: userId, ip: origin.ip ?? null, userAgent: origin.userAgent ?? null, data: {} });
    await appendEvent(trx, { type: 'user.updated', userId, data: { disabled: true } });
  }));
}

export async function enableUser(db: Knex, userId: string, origin: ActorOrigin = {}): Promise<void> {
  await personDirectory.forPerson(db, userId, () => db.transaction(async (trx) => {
    const updated = await userQueries.setDisabled(trx, userId, false);
    if (!updated.length) throw notFound('There is no such account.');
    await appendAudit(trx, { action: 'user.enabled', actorId: origin.actorId ?? null, subjectId: userId, ip: origin.ip ?? null, userAgent: origin.userAgent ?? null, data: {} });
    await appendEvent(trx, { type: 'user.updated', userId, data: { disabled: false } });
  }));
}

/**
 * Deletes an account and, in the same transaction, everything the hub held for it: the rows that
 * cascade with the user row, and every other copy of their details (eraseTracesOf). The audit log
 * keeps its entries, their personal fields shredded. user.deleted carries only the person's id (a
 * service knows whom it names); it reaches only the services they dealt with: that audience is read
 * here, before the grants, entitlements and choices go, and recorded with the event. Returns who
 * they were, for the caller to clear what lives outside the database (the development mailbox).
 */
export async function deleteUser(db: Knex, userId: string, origin: ActorOrigin = {}): Promise<ErasedPerson> {
  const erased = await personDirectory.forPerson(db, userId, () => db.transaction(async (trx) => {
    const user = await userQueries.byId(trx, userId);
    if (!user) throw notFound('There is no such account.');
    const audience = await audienceOf(trx, userId);
    await endEverySession(trx, userId, 'account_deleted', origin);
    await appendAudit(trx, { action: 'user.deleted', actorId: origin.actorId ?? null, subjectId: userId, ip: origin.ip ?? null, userAgent: origin.userAgent ?? null, data: { email: user.email } });
    // After the last entry about them: their audit key goes here, so nothing may audit them after.
    const erased = await eraseTracesOf(trx, user);
    await userQueries.remove(trx, userId);
    await appendEvent(trx, { type: 'user.deleted', userId, data: {}, audience });
    return erased;
  }));
  // With residency on, the directory forgets them last: a failure before leaves an entry that points at nothing, never a person it cannot find.
  await personDirectory.remove(db, userId);
  return erased;
}
