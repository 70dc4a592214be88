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

/** What a relay round took: the rows it marks published, and what it learnt on the way. */
export interface ClaimedBatch {
  /** Marked published, oldest first: the batch without the rows that must wait. */
  rows: OutboxRow[];
  /** The rows locked, those that must wait included (0 when none was taken). */
  batchCount: number;
  /** Migration 184's number, as the claim saw it; null when it took nothing. */
  webhookRoutingVersion: number | null;
  /** By name, the people of the rows taken that each of `claimBatch`'s `peopleFacts` selected. */
  people: Record<string, Set<string>>;
}

const containing = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

const columns = ['seq', 'id', 'type', 'occurred_at', 'user_id', 'service', 'data', 'created_at'] as const;

export const outboxQueries = {
  /** Writes an event (in the caller's transaction); `audience` is the recorded audience as JSON. */
  insert: (trx: Knex, row: Pick<OutboxRow, 'id' | 'type' | 'occurred_at' | 'user_id' | 'service'> & { data: OutboxRow['data'] | Knex.Raw; audience?: string }) => trx('outbox').insert(row),
  /** An event's data with fields the statement inserting it works out (name → SQL expression). */
  dataWith: (db: Knex, data: OutboxRow['data'], computed: Record<string, Knex.Raw>): Knex.Raw => {
    const names = Object.keys(computed);
    return db.raw(`?::jsonb || jsonb_build_object(${names.map(() => '?::text, ?').join(', ')})`, [JSON.stringify(data), ...names.flatMap((name) => [name, computed[name]!])]);
  },

  /** A cheap look before a relay round opens a transaction: most polls find nothing. */
  anyUnpublished: async (db: Knex): Promise<boolean> => Boolean(await db('outbox').whereNull('published_at').first('seq')),

  /**
   * A relay round's one statement. Takes the oldest unpublished rows that no other relay holds
   * (SKIP LOCKED, so several instances relay side by side without waiting or sending twice) and
   * marks them published, but for the rows of a person that must wait: those after an earlier
   * unpublished event of theirs that another relay holds, to keep each person's events in order.
   * Those stay locked and unpublished until the transaction ends. (The look sees what had
   * committed when the statement began: an earlier event whose transaction commits later than a
   * later one's goes after it, as when the look was a statement of its own a round trip later.)
   * Call inside a transaction that publishes the rows before it commits: a rollback (a failed
   * publish, a crash) leaves them unpublished, to be sent again. Oldest first.
   *
   * The same statement makes the transaction's commit not wait for the disk: lost in a crash of
   * PostgreSQL, its marks (and the tasks and deliveries recorded with them) roll back with it and
   * the events are sent again, as after any crash before the commit; whatever depended on it and
   * committed since flushed it, as the log is written in order. It reads the webhook routing's
   * version (migration 184), so the relay knows whether its list of webhooks still holds. And it
   * runs `peopleFacts` once each over the people of the rows taken (SQL selecting some of the
   * people in the `uuid[]` it is given: those with a device to push to), sent with the first row.
   *
   * Before, these were four statements (claim, look for earlier events, give back the rows that
   * must wait, relax the commit) and one each for the webhooks and the push subscriber: each a
   * round trip, two of them between a commit and the event's live delivery.
   */
  claimBatch: async (trx: Knex, limit: number, peopleFacts: Record<string, (people: string) => string> = {}): Promise<ClaimedBatch> => {
    const facts = Object.entries(peopleFacts).map(([name, select], i) => ({ name, select, column: `people_${i}` }));
    const takenPeople = 'array(select distinct user_id from taken where user_id is not null)';
    const { rows }: { rows: Array<OutboxRow & { batch_count: number; routing_version: string } & Record<string, unknown>> } = await trx.raw(
      // Not prepared (directStatement): PostgreSQL then spent 150 µs a round instead of 600 with
      // an empty outbox, but once it kept the plan it made without the limit, a backlog of 20,000
      // events went out at 8,000 a second instead of 38,000 (`npm run bench`).
      // `= any(array(…))`: the batch is read first (the partial index), then its rows by primary
      // key; with `in (…)` PostgreSQL may hash-join the whole table, which only grows. The
      // statement's one snapshot sees the batch still unpublished: hence "not in the batch". Each
      // fact is an uncorrelated subquery, run once; the first row alone carries its answer.
      `with batch as (
         select seq, user_id from outbox where published_at is null order by seq limit ? for update skip locked
       ), waiting as (
         select o.user_id, min(o.seq) as seq from outbox o
          where o.published_at is null
            and o.seq < (select max(seq) from batch)
            and o.user_id = any(array(select distinct user_id from batch where user_id is not null))
            and not exists (select 1 from batch b where b.seq = o.seq)
          group by o.user_id
       ), taken as (
         select b.seq, b.user_id from batch b left join waiting w on w.user_id = b.user_id where w.seq is null or b.seq < w.seq
       )
       update outbox set published_at = now()
        where seq = any(array(select seq from taken))
          and (select set_config('synchronous_commit', 'off', true)) is not null
        returning ${[...columns, 'audience'].join(', ')},${facts.map((fact) => `\n          case when seq = (select min(seq) from taken) then array(${fact.select(takenPeople)}) end as ${fact.column},`).join('')}
          (select count(*) from batch)::int as batch_count,
          (select version from webhook_routing_version)::text as routing_version`,
      [limit],
    );
    const people: Record<string, Set<string>> = {};
    for (const fact of facts) {
      const holding = rows.find((row) => Array.isArray(row[fact.column]))?.[fact.column] as string[] | undefined;
      people[fact.name] = new Set(holding ?? []);
    }
    const first = rows[0];
    return {
      rows: rows
        .map(({ batch_count: _count, routing_version: _version, ...row }) => {
          for (const fact of facts) delete row[fact.column];
          return { ...(row as unknown as OutboxRow), seq: Number(row.seq) };
        })
        .sort((a, b) => a.seq - b.seq),
      batchCount: first?.batch_count ?? 0,
      webhookRoutingVersion: first ? Number(first.routing_version) : null,
      people,
    };
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
  /** How many of the person's events are not on the stream yet. */
  unpublishedOf: async (db: Knex, userId: string): Promise<number> => Number((await db('outbox').where({ user_id: userId }).whereNull('published_at').count({ n: '*' }).first())?.n ?? 0),
  /** The person's events, gone from this database (a move to another region took them along). */
  removeOf: (trx: Knex, userId: string) => trx('outbox').where({ user_id: userId }).delete(),
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
