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
   * Locks the oldest unpublished rows that no other relay holds. Call inside a transaction: the
   * locks last until it ends.
   */
  lockUnpublished: (trx: Knex, limit: number): Promise<OutboxRow[]> =>
    trx('outbox').whereNull('published_at').orderBy('seq').limit(limit).forUpdate().skipLocked().select([...columns, 'audience']),

  /**
   * For each person, the oldest unpublished event that is not among `seqs`: a row another relay
   * holds, or one committed since. A person's events after it must wait, to keep their order.
   */
  earlierUnpublished: async (trx: Knex, userIds: string[], seqs: number[]): Promise<Map<string, number>> => {
    if (!userIds.length) return new Map();
    const rows: Array<{ user_id: string; seq: number }> = await trx('outbox')
      .whereNull('published_at')
      .whereIn('user_id', userIds)
      .whereNotIn('seq', seqs)
      .where('seq', '<', Math.max(...seqs))
      .groupBy('user_id')
      .select('user_id', trx.raw('min(seq)::bigint as seq'));
    return new Map(rows.map((r) => [r.user_id, Number(r.seq)]));
  },

  markPublished: (trx: Knex, seqs: number[]) => trx('outbox').whereIn('seq', seqs).update({ published_at: trx.fn.now() }),

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
};
