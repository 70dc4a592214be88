import type { Knex } from 'knex';

/** The envelope every consumer sees (DESIGN.md, docs/events.md). */
export interface HubEvent {
  id: string;
  type: string;
  occurred_at: string;
  user_id?: string;
  service?: string;
  data: Record<string, unknown>;
}

/** One service that may receive an event, with the person's privacy choice for it at that moment. */
export interface AudienceMember {
  service_id: string;
  share_profile: boolean;
  share_email: boolean;
  share_activity: boolean;
}

export type RecordedAudience = AudienceMember[];

export interface OutboxRow {
  seq: number;
  id: string;
  type: string;
  occurred_at: Date;
  user_id: string | null;
  service: string | null;
  data: Record<string, unknown>;
  created_at: Date;
  published_at: Date | null;
  /** Set only for events routed to the services recorded when they were written (see migration 110). */
  audience?: RecordedAudience | null;
}

const containing = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

const columns = ['seq', 'id', 'type', 'occurred_at', 'user_id', 'service', 'data', 'created_at'] as const;

export const outboxQueries = {
  /** Writes an event (in the caller's transaction); `audience` is the recorded audience as JSON. */
  insert: (trx: Knex, row: Pick<OutboxRow, 'id' | 'type' | 'occurred_at' | 'user_id' | 'service' | 'data'> & { audience?: string }) => trx('outbox').insert(row),

  /** A cheap look before a relay round opens a transaction: most polls find nothing. */
  anyUnpublished: async (db: Knex): Promise<boolean> => Boolean(await db('outbox').whereNull('published_at').first('seq')),

  /**
   * Takes the oldest unpublished rows that no other relay holds (SKIP LOCKED) and marks them
   * published, in one statement: lock and mark cost one round trip and one write per row. Call
   * inside a transaction that publishes them before it commits: a rollback (a failed publish, a
   * crash) leaves them unpublished, to be sent again. Oldest first.
   */
  claimUnpublished: async (trx: Knex, limit: number): Promise<OutboxRow[]> => {
    const { rows }: { rows: OutboxRow[] } = await trx.raw(
      // `= any(array(…))`: the batch is read first (the partial index), then its rows by primary
      // key; with `in (…)` PostgreSQL may hash-join the whole table, which only grows.
      `update outbox set published_at = now()
        where seq = any(array(select seq from outbox where published_at is null order by seq limit ? for update skip locked))
        returning ${[...columns, 'audience'].join(', ')}`,
      [limit],
    );
    return rows.map((row) => ({ ...row, seq: Number(row.seq) })).sort((a, b) => a.seq - b.seq);
  },

  /**
   * The relay's commit need not wait for the disk: lost in a crash of PostgreSQL, its marks (and
   * the tasks and deliveries it recorded) roll back with it and the events are sent again, as
   * after any crash before its commit. Whatever depended on it and committed since (a task run)
   * flushed it, as the log is written in order. Saves a flush per batch.
   */
  relaxCommit: (trx: Knex) => trx.raw('set local synchronous_commit to off'),

  /** Gives back rows taken by claimUnpublished that must wait (in the same transaction). */
  unclaim: (trx: Knex, seqs: number[]) => trx.raw('update outbox set published_at = null where seq = any(?::bigint[])', [seqs.map(String)]),

  /**
   * For each person, the oldest unpublished event before the batch's last that is not among `seqs`
   * (the batch: claimed, so no longer unpublished to this transaction): a row another relay holds,
   * or one committed since. A person's events after it must wait, to keep their order.
   */
  earlierUnpublished: async (trx: Knex, userIds: string[], seqs: number[]): Promise<Map<string, number>> => {
    if (!userIds.length) return new Map();
    // Arrays, not IN lists: one parameter each however big the batch, and the unpublished rows
    // below the batch's last are read through the partial index (a few besides the batch).
    const { rows }: { rows: Array<{ user_id: string; seq: string | number }> } = await trx.raw(
      `select user_id, min(seq)::bigint as seq from outbox
        where published_at is null and seq < ? and user_id = any(?::uuid[]) and seq <> all(?::bigint[])
        group by user_id`,
      [Math.max(...seqs), userIds, seqs.map(String)],
    );
    return new Map(rows.map((r) => [r.user_id, Number(r.seq)]));
  },

  /** Seconds since the oldest unpublished event was written (0 when none waits), and how many wait. */
  backlog: async (db: Knex): Promise<{ lagSeconds: number; waiting: number }> => {
    const row = await db('outbox')
      .whereNull('published_at')
      .first(db.raw('coalesce(extract(epoch from (now() - min(created_at))), 0)::float8 as lag'), db.raw('count(*)::int as waiting'));
    return { lagSeconds: Math.max(0, Number(row?.lag ?? 0)), waiting: Number(row?.waiting ?? 0) };
  },

  /** A person's events, newest first, before a position (exclusive). */
  forUser: (db: Knex, userId: string, options: { before?: number; limit: number; service?: string }): Promise<OutboxRow[]> => {
    const query = db('outbox').where({ user_id: userId }).orderBy('seq', 'desc').limit(options.limit).select([...columns, 'published_at']);
    if (options.before !== undefined) query.where('seq', '<', options.before);
    if (options.service) query.where({ service: options.service });
    return query;
  },

  /** Events about a person, or whose data holds one of `texts` (their addresses, their name): what erasure rewrites. */
  mentioning: (trx: Knex, userId: string, texts: string[]): Promise<Array<Pick<OutboxRow, 'seq' | 'data'>>> =>
    trx('outbox')
      .where((w) => {
        w.where({ user_id: userId });
        for (const text of texts) w.orWhereRaw('data::text ilike ?', [containing(text)]);
      })
      .select('seq', 'data'),
  replaceData: (trx: Knex, seq: number, data: unknown) => trx('outbox').where({ seq }).update({ data: JSON.stringify(data) }),

  /** The data export: every event about the person, oldest first. */
  exportRows: (db: Knex, userId: string): Promise<Array<Record<string, unknown>>> =>
    db('outbox').where({ user_id: userId }).orderBy('seq').select('type', 'occurred_at', 'service', 'data', 'published_at'),
  byId: (db: Knex, id: string): Promise<OutboxRow | undefined> => db('outbox').where({ id }).first([...columns, 'published_at']),

  /** The services that appear in a person's activity, for the filter. */
  servicesOf: async (db: Knex, userId: string): Promise<string[]> => {
    const rows: Array<{ service: string }> = await db('outbox').where({ user_id: userId }).whereNotNull('service').distinct('service');
    return rows.map((r) => r.service).sort();
  },

  /** A person's events that occurred in [from, to), oldest first (a day of them: the "Today" summary). */
  forUserBetween: (db: Knex, userId: string, from: Date, to: Date): Promise<OutboxRow[]> =>
    db('outbox').where({ user_id: userId }).where('occurred_at', '>=', from).where('occurred_at', '<', to).orderBy([{ column: 'occurred_at' }, { column: 'seq' }]).select(columns),
};
