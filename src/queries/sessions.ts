import type { Knex } from 'knex';

/** The provider's Session payload, as far as the portal reads it. */
export interface SessionPayload {
  uid: string;
  jti: string;
  accountId?: string;
  loginTs?: number;
  amr?: string[];
  acr?: string;
  authorizations?: Record<string, { sid?: string; grantId?: string; persistsLogout?: boolean }>;
}

export interface StoredSession {
  id: string;
  uid: string;
  payload: SessionPayload;
  expires_at: Date | null;
}

export interface SightingRow {
  session_uid: string;
  user_id: string;
  user_agent: string | null;
  ip: string | null;
  first_seen_at: Date;
  last_seen_at: Date;
}

const live = (db: Knex) => (q: Knex.QueryBuilder) => q.whereNull('expires_at').orWhere('expires_at', '>', db.fn.now());

/** Tokens and codes the provider files under a session (by sessionUid in their payload). */
const sessionBoundModels = ['AccessToken', 'RefreshToken', 'AuthorizationCode', 'DeviceCode', 'BackchannelAuthenticationRequest'];

export const sessionQueries = {
  activeForUser: (db: Knex, userId: string): Promise<StoredSession[]> =>
    db('oidc_models').where({ model: 'Session', account_id: userId }).andWhere(live(db)).select('id', 'uid', 'payload', 'expires_at'),

  byUid: (db: Knex, userId: string, uid: string): Promise<StoredSession | undefined> =>
    db('oidc_models').where({ model: 'Session', account_id: userId, uid }).andWhere(live(db)).first('id', 'uid', 'payload', 'expires_at'),

  sightings: async (db: Knex, uids: string[]): Promise<Map<string, SightingRow>> => {
    if (!uids.length) return new Map();
    const rows: SightingRow[] = await db('session_sightings').whereIn('session_uid', uids);
    return new Map(rows.map((r) => [r.session_uid, r]));
  },

  /** Records a sighting; writes at most once a minute per session, so reads stay cheap. */
  recordSighting: (db: Knex, sighting: { uid: string; userId: string; userAgent: string | null; ip: string | null }) =>
    db('session_sightings')
      .insert({ session_uid: sighting.uid, user_id: sighting.userId, user_agent: sighting.userAgent, ip: sighting.ip })
      .onConflict('session_uid')
      .merge({ user_agent: sighting.userAgent, ip: sighting.ip, last_seen_at: db.fn.now() })
      .where('session_sightings.last_seen_at', '<', db.raw("now() - interval '1 minute'")),

  /** Ends one session: its grants and every token they hold, tokens filed under it, and the session itself. */
  destroy: async (trx: Knex, session: StoredSession) => {
    const grantIds = Object.values(session.payload.authorizations ?? {})
      .map((a) => a.grantId)
      .filter((id): id is string => typeof id === 'string');
    if (grantIds.length) {
      await trx('oidc_models').whereIn('grant_id', grantIds).delete();
      await trx('oidc_models').where({ model: 'Grant' }).whereIn('id', grantIds).delete();
    }
    await trx('oidc_models').whereIn('model', sessionBoundModels).whereRaw("payload->>'sessionUid' = ?", [session.uid]).delete();
    await trx('oidc_models').where({ model: 'Session', id: session.id }).delete();
    await trx('session_sightings').where({ session_uid: session.uid }).delete();
  },
};
