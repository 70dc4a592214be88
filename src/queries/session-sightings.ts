import type { Knex } from 'knex';

/** Where and on what a session was last seen (the provider keeps neither). */
export interface SightingRow {
  session_uid: string;
  user_id: string;
  user_agent: string | null;
  ip: string | null;
  first_seen_at: Date;
  last_seen_at: Date;
}

/** A sighting as a request makes it: this session, of this person, seen now on this user agent and address. */
export interface SessionSighting {
  uid: string;
  userId: string;
  userAgent: string | null;
  ip: string | null;
}

export const sightingQueries = {
  /** The data export: where and with what each of the person's sessions was last seen. */
  exportRows: (db: Knex, userId: string): Promise<Array<Record<string, unknown>>> =>
    db('session_sightings').where({ user_id: userId }).orderBy('first_seen_at').select('user_agent', 'ip', 'first_seen_at', 'last_seen_at'),
  forSessions: async (db: Knex, uids: string[]): Promise<Map<string, SightingRow>> => {
    if (!uids.length) return new Map();
    const rows: SightingRow[] = await db('session_sightings').whereIn('session_uid', uids);
    return new Map(rows.map((r) => [r.session_uid, r]));
  },

  /** Records a sighting; writes at most once a minute per session, so reads stay cheap. */
  record: (db: Knex, sighting: SessionSighting) =>
    db('session_sightings')
      .insert({ session_uid: sighting.uid, user_id: sighting.userId, user_agent: sighting.userAgent, ip: sighting.ip })
      .onConflict('session_uid')
      .merge({ user_agent: sighting.userAgent, ip: sighting.ip, last_seen_at: db.fn.now() })
      .where('session_sightings.last_seen_at', '<', db.raw("now() - interval '1 minute'")),

  /**
   * The same write as `record`, as SQL for another statement to run as one of its CTEs (the
   * provider's batch save of a session: src/queries/oidc-models.ts): records a sighting for each
   * row of `rows`, a CTE with columns uid, account_id, seen_user_agent and seen_ip; a row whose
   * person is gone is passed over, so the statement does not fail for it.
   */
  recordFromRows: (rows: string): string => `insert into session_sightings (session_uid, user_id, user_agent, ip)
    select ${rows}.uid, u.id, ${rows}.seen_user_agent, ${rows}.seen_ip from ${rows} join users u on u.id = ${rows}.account_id::uuid
    on conflict (session_uid) do update set user_agent = excluded.user_agent, ip = excluded.ip, last_seen_at = now()
    where session_sightings.last_seen_at < now() - interval '1 minute'`,

  /** Forgets an ended session's sighting. */
  forget: (trx: Knex, sessionUid: string) => trx('session_sightings').where({ session_uid: sessionUid }).delete(),
};
