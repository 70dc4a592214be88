/**
 * Relay throughput: events a second from the outbox (PostgreSQL) to the Redis Stream, through the
 * hub's own relay (lock, order per person, publish, record tasks and webhook deliveries, mark, commit).
 * Next to it, in turns, the floor of the Redis side: the same envelopes sent with raw pipelined
 * XADDs (1,000 per round trip) and nothing else: no database, no guarantees.
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { Redis } from 'ioredis';
import { toEnvelope } from '../src/outbox/outbox.ts';
import { taskEnqueuer } from '../src/events/event-tasks.ts';
import { enqueueWebhookDeliveries } from '../src/events/webhook-routing.ts';
import { provisioning } from '../src/events/provisioning.ts';
import type { OutboxRow } from '../src/queries/outbox.ts';
import { webhookQueries } from '../src/queries/webhooks.ts';
import { startEventsHub } from './events-hub.ts';

/**
 * The relay as it was before issue 17 (commit 9246f33), kept here as the baseline measured in the
 * same run: lock 500 rows (FOR UPDATE SKIP LOCKED), the person-order check with IN lists, one
 * pipelined XADD per event, the same durable work, one UPDATE … IN (…) marking them, commit.
 */
async function legacyRelay(db: Knex, redis: Redis, key: string, maxLength: number): Promise<void> {
  const enqueueTasks = taskEnqueuer([provisioning]);
  const columns = ['seq', 'id', 'type', 'occurred_at', 'user_id', 'service', 'data', 'created_at', 'audience'];
  for (;;) {
    if (!(await db('outbox').whereNull('published_at').first('seq'))) return;
    await db.transaction(async (trx) => {
      const locked: OutboxRow[] = await trx('outbox').whereNull('published_at').orderBy('seq').limit(500).forUpdate().skipLocked().select(columns);
      if (!locked.length) return;
      const users = [...new Set(locked.map((r) => r.user_id).filter((u): u is string => u !== null))];
      const seqs = locked.map((r) => r.seq);
      const earlier: Array<{ user_id: string; seq: number }> = users.length
        ? await trx('outbox').whereNull('published_at').whereIn('user_id', users).whereNotIn('seq', seqs).where('seq', '<', Math.max(...seqs)).groupBy('user_id').select('user_id', trx.raw('min(seq)::bigint as seq'))
        : [];
      const blocked = new Map(earlier.map((r) => [r.user_id, Number(r.seq)]));
      const rows = locked.filter((row) => (row.user_id ? (blocked.get(row.user_id) ?? Infinity) > row.seq : true));
      const events = rows.map(toEnvelope);
      const pipeline = redis.pipeline();
      for (const event of events) pipeline.xadd(key, 'MAXLEN', '~', maxLength, '*', 'e', JSON.stringify(event));
      for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
      await enqueueTasks(trx, events, rows.map((r) => Number(r.seq)));
      await enqueueWebhookDeliveries(trx, rows, events, await webhookQueries.active(trx));
      await trx('outbox').whereIn('seq', rows.map((r) => r.seq)).update({ published_at: trx.fn.now() });
    });
  }
}

export interface RelayTurn {
  relayPerSecond: number;
  legacyPerSecond: number;
  rawPerSecond: number;
}

export interface RelayResult {
  events: number;
  people: number;
  turns: RelayTurn[];
  /** Sums over the turns: events / seconds. */
  relayPerSecond: number;
  legacyPerSecond: number;
  rawPerSecond: number;
  /** Entries the stream holds after the relay's turns, against the events written (every one, once). */
  streamEntries: number;
  written: number;
}

export interface RelayOptions {
  adminDatabaseUrl: string;
  redisUrl: string;
  redisPrefix: string;
  events: number;
  turns: number;
  /** Events are spread over this many people (the relay keeps each person's in order). */
  people?: number;
}

const log = (line: string) => process.stderr.write(`${line}\n`);

export async function measureRelay(options: RelayOptions): Promise<RelayResult> {
  const { events, turns } = options;
  const people = Array.from({ length: options.people ?? 1000 }, () => randomUUID());
  const { hub, stop } = await startEventsHub({ adminDatabaseUrl: options.adminDatabaseUrl, redisUrl: options.redisUrl, redisPrefix: options.redisPrefix,
    // Long enough that nothing is trimmed: the stream must hold every event relayed, once.
    env: { EVENT_STREAM_LENGTH: String(Math.max(10_000, 2 * events * turns)) } });
  const raw = new Redis(options.redisUrl, { maxRetriesPerRequest: 1 });
  const rawKey = `${options.redisPrefix}raw-xadd`;
  try {
    const db = hub.db;
    const relay = hub.events.relay;
    const streamKey = `${options.redisPrefix}events`;
    const before = await raw.xlen(streamKey);
    const result: RelayTurn[] = [];
    let relaySeconds = 0;
    let rawSeconds = 0;
    let legacySeconds = 0;
    const legacyKey = `${options.redisPrefix}legacy-relay`;
    /** Writes a backlog of `events` rows (the hub's relay stopped), returns their envelopes. */
    const backlog = async (turn: number) => {
      await relay.stop();
      const envelopes = [];
      for (let done = 0; done < events; done += 1000) {
        const rows = Array.from({ length: Math.min(1000, events - done) }, (_, i) => ({
          id: randomUUID(),
          type: 'bench.relay',
          occurred_at: new Date(),
          user_id: people[(done + i) % people.length]!,
          data: { n: done + i, turn },
        }));
        await db('outbox').insert(rows);
        for (const row of rows) envelopes.push({ id: row.id, type: row.type, occurred_at: row.occurred_at.toISOString(), user_id: row.user_id, data: row.data });
      }
      return envelopes;
    };
    for (let turn = 0; turn < turns; turn++) {
      // Before: the old relay's rounds on a backlog of the same size, to a stream of its own.
      await backlog(turn);
      const legacyStarted = performance.now();
      await legacyRelay(db, raw, legacyKey, 2 * events * turns);
      const legacyTook = (performance.now() - legacyStarted) / 1000;

      // The relay: the backlog is written while it is stopped, then it is started and timed until the outbox is empty.
      const envelopes = await backlog(turn);
      const started = performance.now();
      relay.start();
      while (await db('outbox').whereNull('published_at').first('seq')) await new Promise((resolve) => setTimeout(resolve, 5));
      const relayTook = (performance.now() - started) / 1000;

      const rawStarted = performance.now();
      for (let i = 0; i < envelopes.length; i += 1000) {
        const pipeline = raw.pipeline();
        for (const envelope of envelopes.slice(i, i + 1000)) pipeline.xadd(rawKey, 'MAXLEN', '~', 100_000, '*', 'e', JSON.stringify(envelope));
        await pipeline.exec();
      }
      const rawTook = (performance.now() - rawStarted) / 1000;
      relaySeconds += relayTook;
      rawSeconds += rawTook;
      legacySeconds += legacyTook;
      result.push({ relayPerSecond: events / relayTook, legacyPerSecond: events / legacyTook, rawPerSecond: events / rawTook });
      log(`bench: relay turn ${turn + 1}: before ${Math.round(events / legacyTook)} events/s, relay ${Math.round(events / relayTook)} events/s, raw pipelined XADD ${Math.round(events / rawTook)} events/s`);
    }
    await raw.del(legacyKey);
    const streamEntries = (await raw.xlen(streamKey)) - before;
    return { events, people: people.length, turns: result, relayPerSecond: (events * turns) / relaySeconds, legacyPerSecond: (events * turns) / legacySeconds, rawPerSecond: (events * turns) / rawSeconds, streamEntries, written: events * turns };
  } finally {
    await raw.del(rawKey).catch(() => undefined);
    raw.disconnect();
    await stop();
  }
}
