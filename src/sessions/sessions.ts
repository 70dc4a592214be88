import type { Knex } from 'knex';
import { appendAudit, type ActorOrigin } from '../audit/audit-log.ts';
import { notFound } from '../platform/errors.ts';
import { appendEvent } from '../outbox/outbox.ts';
import { describeUserAgent, type DeviceDescription } from '../identity/browser-names.ts';
import { servicesOfClients } from '../catalog/client-services.ts';
import { grantQueries, sessionQueries, type StoredSession } from '../queries/oidc-models.ts';
import { sightingQueries } from '../queries/session-sightings.ts';

export interface SessionView {
  uid: string;
  current: boolean;
  device: DeviceDescription;
  ip: string | null;
  signedInAt: Date | null;
  lastActiveAt: Date | null;
  services: string[];
  mfa: boolean;
}


/** Every live session of a person, the current one first, then the most recently active. */
export async function listSessions(db: Knex, userId: string, currentUid: string | null): Promise<SessionView[]> {
  const sessions = await sessionQueries.activeForUser(db, userId);
  const sightings = await sightingQueries.forSessions(db, sessions.map((s) => s.uid));
  const clients = await servicesOfClients(db, sessions.flatMap((s) => Object.keys(s.payload.authorizations ?? {})));
  const views = sessions.map((s): SessionView => {
    const seen = sightings.get(s.uid);
    return {
      uid: s.uid,
      current: s.uid === currentUid,
      device: describeUserAgent(seen?.user_agent),
      ip: seen?.ip ?? null,
      signedInAt: s.payload.loginTs ? new Date(s.payload.loginTs * 1000) : null,
      lastActiveAt: seen ? new Date(seen.last_seen_at) : s.payload.loginTs ? new Date(s.payload.loginTs * 1000) : null,
      services: [...new Set(Object.keys(s.payload.authorizations ?? {}).map((id) => clients.get(id)!.name))].sort(),
      mfa: (s.payload.amr ?? []).some((m) => m !== 'pwd'),
    };
  });
  return views.sort((a, b) => Number(b.current) - Number(a.current) || (b.lastActiveAt?.getTime() ?? 0) - (a.lastActiveAt?.getTime() ?? 0));
}

/**
 * Ends these sessions in the caller's transaction: each session, its grants and their tokens,
 * with one session.revoked event per session and one audit entry for them all.
 */
export async function endSessionsWithin(trx: Knex, userId: string, sessions: StoredSession[], reason: string, origin: ActorOrigin): Promise<number> {
  if (!sessions.length) return 0;
  for (const session of sessions) {
    await sessionQueries.destroy(trx, session);
    await sightingQueries.forget(trx, session.uid);
    await appendEvent(trx, { type: 'session.revoked', userId, data: { session_id: session.uid, reason } });
  }
  await appendAudit(trx, {
    action: 'session.revoked',
    actorId: origin.actorId ?? userId,
    subjectId: userId,
    ip: origin.ip,
    userAgent: origin.userAgent,
    data: { sessions: sessions.map((s) => s.uid), reason },
  });
  return sessions.length;
}

const endSessions = (db: Knex, userId: string, sessions: StoredSession[], reason: string, origin: ActorOrigin): Promise<number> =>
  sessions.length ? db.transaction((trx) => endSessionsWithin(trx, userId, sessions, reason, origin)) : Promise.resolve(0);

/** Every live session of a person but the one in use. */
const otherSessions = async (db: Knex, userId: string, keepUid: string) => (await sessionQueries.activeForUser(db, userId)).filter((s) => s.uid !== keepUid);

/**
 * Everything a person is signed in with except the session in use, in the caller's transaction:
 * every other session with its grants and tokens, and the grants left over from sessions that
 * already ended (a service's refresh token outlives the browser session it was issued in).
 */
export async function endAllButSession(trx: Knex, userId: string, keepUid: string, reason: string, origin: ActorOrigin): Promise<{ sessions: number; grants: number }> {
  const sessions = await endSessionsWithin(trx, userId, await otherSessions(trx, userId, keepUid), reason, origin);
  const kept = await sessionQueries.byUid(trx, userId, keepUid);
  const keptGrants = new Set(Object.values(kept?.payload.authorizations ?? {}).map((a) => a.grantId));
  const leftOver = (await grantQueries.forUser(trx, userId)).filter((g) => !keptGrants.has(g.id)).map((g) => g.id);
  await grantQueries.revoke(trx, leftOver);
  return { sessions, grants: leftOver.length };
}

/** Signs one of a person's sessions out: the session, its grants and its tokens end. */
export async function endSession(db: Knex, userId: string, uid: string, origin: ActorOrigin = {}): Promise<void> {
  const session = await sessionQueries.byUid(db, userId, uid);
  if (!session) throw notFound('That session has already ended.');
  await endSessions(db, userId, [session], 'signed_out', origin);
}

/** "Sign out everywhere else": every session but the one in use. */
export async function endOtherSessions(db: Knex, userId: string, keepUid: string, origin: ActorOrigin = {}): Promise<number> {
  return endSessions(db, userId, await otherSessions(db, userId, keepUid), 'signed_out_elsewhere', origin);
}
