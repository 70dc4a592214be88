import type { Knex } from 'knex';

export interface DailySummaryRecipient {
  user_id: string;
  email: string;
  name: string;
  locale: string | null;
  time_zone: string | null;
  nonce: string;
  /** The person's local day at the moment asked. */
  day: string;
}

export const dailySummaryQueries = {
  subscriber: (db: Knex, userId: string): Promise<{ user_id: string; nonce: string } | undefined> =>
    db('daily_summary_subscribers').where({ user_id: userId }).first('user_id', 'nonce'),
  subscribe: (trx: Knex, userId: string, nonce: string) =>
    trx('daily_summary_subscribers').insert({ user_id: userId, nonce }).onConflict('user_id').ignore(),
  /** Removes the choice; with `nonce`, only while it is that one (a used opt-out link finds nothing). Says whether a row went. */
  unsubscribe: async (trx: Knex, userId: string, nonce?: string): Promise<boolean> => {
    const query = trx('daily_summary_subscribers').where({ user_id: userId });
    if (nonce !== undefined) query.where({ nonce });
    return (await query.delete()) > 0;
  },
  /** The time zones subscribers have, as stored ('' for none): few, however many people. */
  subscriberZones: async (db: Knex): Promise<string[]> => {
    const rows: Array<{ zone: string }> = await db('daily_summary_subscribers as s').join('users as u', 'u.id', 's.user_id').distinct(db.raw(`coalesce(u.time_zone, '') as zone`));
    return rows.map((r) => r.zone);
  },
  /**
   * Subscribers in the given zones (as stored, '' for none) whose given local day has no send row
   * yet. The caller works out which zones' evening has come and their local day (Intl, as the
   * summary itself does), so the database's own time zone data plays no part.
   * Disabled accounts and unverified addresses get nothing.
   */
  due: async (db: Knex, zones: Array<{ zone: string; day: string }>, limit: number): Promise<DailySummaryRecipient[]> => {
    if (zones.length === 0) return [];
    const values = zones.map(() => '(?::text, ?::date)').join(', ');
    const { rows } = await db.raw<{ rows: DailySummaryRecipient[] }>(
      `select s.user_id, s.nonce, u.email, u.name, u.locale, u.time_zone, to_char(z.day, 'YYYY-MM-DD') as day
         from daily_summary_subscribers s
         join users u on u.id = s.user_id
         join (values ${values}) as z(zone, day) on z.zone = coalesce(u.time_zone, '')
        where u.disabled_at is null and u.email_verified
          and not exists (select 1 from daily_summary_sends d where d.user_id = s.user_id and d.day = z.day)
        order by s.user_id
        limit ?`,
      [...zones.flatMap((z) => [z.zone, z.day]), limit],
    );
    return rows;
  },
  /** Claims one person's day: true for the one instance whose insert made the row. */
  claim: async (db: Knex, userId: string, day: string): Promise<boolean> => {
    const inserted = await db('daily_summary_sends').insert({ user_id: userId, day }).onConflict(['user_id', 'day']).ignore().returning('user_id');
    return inserted.length > 0;
  },
  finish: (db: Knex, userId: string, day: string, outcome: 'sent' | 'empty' | 'failed', events: number) =>
    db('daily_summary_sends').where({ user_id: userId, day }).update({ outcome, events }),
  /** The data export: the choice, and each day the summary was sent (or not). */
  exportRows: async (db: Knex, userId: string) => ({
    subscriber: await db('daily_summary_subscribers').where({ user_id: userId }).first('created_at'),
    sends: await db('daily_summary_sends').where({ user_id: userId }).orderBy('day').select(db.raw(`to_char(day, 'YYYY-MM-DD') as day`), 'outcome', 'events'),
  }),
};
