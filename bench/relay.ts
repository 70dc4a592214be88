/**
 * Relay throughput: events a second from the outbox (PostgreSQL) to the Redis Stream, through the
 * hub's own relay (lock, order per person, publish, record tasks and webhook deliveries, mark, commit).
 * Next to it, in turns, the floor of the Redis side: the same envelopes sent with raw pipelined
 * XADDs (1,000 per round trip) and nothing else: no database, no guarantees.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { startEventsHub } from './events-hub.ts';

export interface RelayTurn {
  relayPerSecond: number;
  rawPerSecond: number;
}

export interface RelayResult {
  events: number;
  people: number;
  turns: RelayTurn[];
  /** Sums over the turns: events / seconds. */
  relayPerSecond: number;
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
    for (let turn = 0; turn < turns; turn++) {
      // The backlog is written while the relay is stopped, then the relay is started and timed until the outbox is empty.
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
      result.push({ relayPerSecond: events / relayTook, rawPerSecond: events / rawTook });
      log(`bench: relay turn ${turn + 1}: relay ${Math.round(events / relayTook)} events/s, raw pipelined XADD ${Math.round(events / rawTook)} events/s`);
    }
    const streamEntries = (await raw.xlen(streamKey)) - before;
    return { events, people: people.length, turns: result, relayPerSecond: (events * turns) / relaySeconds, rawPerSecond: (events * turns) / rawSeconds, streamEntries, written: events * turns };
  } finally {
    await raw.del(rawKey).catch(() => undefined);
    raw.disconnect();
    await stop();
  }
}
