import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from '../platform/logger.ts';
import type { BusSubscription, EventBus, ReplayPage, StreamEntry } from './bus.ts';
import type { HubEvent } from '../outbox/outbox.ts';
import { compareStreamIds, parseStreamId, zeroStreamId } from './stream-ids.ts';

type RawEntry = [id: string, fields: string[]];

function toEntry([streamId, fields]: RawEntry): StreamEntry | null {
  const index = fields.indexOf('e');
  if (index < 0 || index + 1 >= fields.length) return null;
  try {
    return { streamId, event: JSON.parse(fields[index + 1]!) as HubEvent };
  } catch {
    return null;
  }
}

const toEntries = (raw: RawEntry[]) => raw.map(toEntry).filter((e): e is StreamEntry => e !== null);

function infoField(info: unknown[], name: string): unknown {
  const index = info.indexOf(name);
  return index >= 0 ? info[index + 1] : undefined;
}

/** Appends each argument as one entry (field `e`), capped at ARGV[1] (MAXLEN ~); returns their ids in order. */
const xaddManyScript = `local ids = {}
for i = 2, #ARGV do
  ids[i - 1] = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'e', ARGV[i])
end
return ids`;
const xaddManySha = createHash('sha1').update(xaddManyScript).digest('hex');
/** Entries per script call: Redis serves nobody else while a script runs, so each stays short (about a millisecond). */
const publishChunk = 1000;

export interface RedisBusOptions {
  url: string;
  prefix: string;
  /** Approximate cap of the stream (XADD MAXLEN ~). */
  maxLength: number;
  logger: Logger;
}

/**
 * The event stream as a Redis Stream (`<prefix>events`), capped by length. Reads that block use
 * a connection of their own, one per subscription (one per process), never the command connection.
 */
export class RedisBus implements EventBus {
  readonly kind = 'redis' as const;
  readonly key: string;
  private readonly redis: Redis;
  private readonly options: RedisBusOptions;
  private readonly readers = new Set<Redis>();

  constructor(options: RedisBusOptions) {
    this.options = options;
    this.key = `${options.prefix}events`;
    // commandTimeout: a Redis that stops answering fails a relay round (retried, the outbox keeps
    // the events) rather than holding it, and its row locks, for ever.
    this.redis = new Redis(options.url, { lazyConnect: false, maxRetriesPerRequest: 3, commandTimeout: 5_000 });
    this.redis.on('error', (error) => options.logger.warn({ err: error }, 'redis (event bus) error'));
  }

  async publish(events: HubEvent[]): Promise<string[]> {
    if (!events.length) return [];
    // One script call per chunk, every chunk in one round trip: Redis runs each script whole, so
    // a chunk's entries are appended in order with nothing between them, and the client builds
    // one command per chunk instead of one per event (what held the relay at a few thousand a second).
    const pipeline = this.redis.pipeline();
    for (let i = 0; i < events.length; i += publishChunk) {
      const chunk = events.slice(i, i + publishChunk).map((event) => JSON.stringify(event));
      pipeline.evalsha(xaddManySha, 1, this.key, this.options.maxLength, ...chunk);
    }
    let results = (await pipeline.exec()) ?? [];
    if (results.some(([error]) => error && /NOSCRIPT/.test(String(error)))) {
      // A Redis that has not seen the script yet (or was restarted, or flushed its scripts): load
      // it and send again. Nothing was appended: NOSCRIPT fails before the script runs.
      await this.redis.script('LOAD', xaddManyScript);
      const again = this.redis.pipeline();
      for (let i = 0; i < events.length; i += publishChunk) {
        again.evalsha(xaddManySha, 1, this.key, this.options.maxLength, ...events.slice(i, i + publishChunk).map((event) => JSON.stringify(event)));
      }
      results = (await again.exec()) ?? [];
    }
    const ids: string[] = [];
    for (const [error, chunkIds] of results) {
      if (error) throw error;
      for (const id of chunkIds as string[]) ids.push(id);
    }
    return ids;
  }

  async read(afterId: string, count: number): Promise<ReplayPage> {
    if (!parseStreamId(afterId)) return { entries: [], gap: true };
    const [[rangeError, raw], [, info]] = (await this.redis
      .pipeline()
      .xrange(this.key, `(${afterId}`, '+', 'COUNT', count)
      .xinfo('STREAM', this.key)
      .exec()) as [[Error | null, RawEntry[]], [Error | null, unknown[] | null]];
    if (rangeError) throw rangeError;
    // XINFO fails (no such key) when nothing was ever published: no gap then.
    const deleted = Array.isArray(info) ? infoField(info, 'max-deleted-entry-id') : undefined;
    const gap = typeof deleted === 'string' && deleted !== zeroStreamId && compareStreamIds(afterId, deleted) < 0;
    return { entries: toEntries(raw), gap };
  }

  async lastId(): Promise<string> {
    const raw = (await this.redis.xrevrange(this.key, '+', '-', 'COUNT', 1)) as RawEntry[];
    return raw[0]?.[0] ?? zeroStreamId;
  }

  async subscribe(fromId: string, onEntries: (entries: StreamEntry[]) => void): Promise<BusSubscription> {
    // Blocking reads wait on purpose: no command timeout here. ioredis takes any number, 0 too, as
    // a timeout in ms, so it must be left unset: `commandTimeout: 0` failed every read at once
    // ("Command timed out"), and the reader got through only when Redis won that race. A read
    // whose answer never comes (a network gone quiet) ends after its BLOCK and a grace that
    // outlasts a busy event loop; what it missed is read again from the same position.
    const reader = this.redis.duplicate({ maxRetriesPerRequest: null, commandTimeout: undefined, blockingTimeout: 30_000, blockingTimeoutGrace: 5_000 });
    reader.on('error', (error) => this.options.logger.debug({ err: error }, 'redis (event reader) error'));
    this.readers.add(reader);
    let position = fromId === '$' ? await this.lastId() : fromId;
    let open = true;
    const loop = async () => {
      while (open) {
        try {
          const reply = (await reader.xread('COUNT', 1000, 'BLOCK', 5000, 'STREAMS', this.key, position)) as Array<[string, RawEntry[]]> | null;
          const raw = reply?.[0]?.[1] ?? [];
          if (!raw.length) continue;
          position = raw[raw.length - 1]![0];
          const entries = toEntries(raw);
          if (entries.length) onEntries(entries);
        } catch (error) {
          if (!open) return;
          this.options.logger.warn({ err: error }, 'reading the event stream failed; retrying');
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      }
    };
    void loop();
    return {
      close: () => {
        open = false;
        this.readers.delete(reader);
        reader.disconnect();
      },
    };
  }

  async forget(userId: string, keepEventId: string): Promise<number> {
    const doomed: string[] = [];
    let after = '-';
    for (;;) {
      const raw = (await this.redis.xrange(this.key, after, '+', 'COUNT', 1000)) as RawEntry[];
      for (const entry of toEntries(raw)) if (entry.event.user_id === userId && entry.event.id !== keepEventId) doomed.push(entry.streamId);
      if (raw.length < 1000) break;
      after = `(${raw[raw.length - 1]![0]}`;
    }
    for (let i = 0; i < doomed.length; i += 500) await this.redis.xdel(this.key, ...doomed.slice(i, i + 500));
    return doomed.length;
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async close(): Promise<void> {
    for (const reader of this.readers) reader.disconnect();
    this.readers.clear();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
