import { randomUUID } from 'node:crypto';
import { Redis, type ChainableCommander } from 'ioredis';
import type { Logger } from '../platform/logger.ts';

/**
 * Which of a person's devices hold a live connection on some instance: a device app by its grant's
 * reference, the person's portal pages as "portal". The push worker asks before it pushes, so a
 * device connected to another instance hears of an event there and gets no push as well.
 */
export interface LivePresence {
  opened(userId: string, device: string): void;
  closed(userId: string, device: string): void;
  /** Whether another instance holds a connection of this device (this instance knows its own). */
  elsewhere(userId: string, device: string): Promise<boolean>;
  stop(): Promise<void>;
}

/** One instance (no Redis): there is nowhere else. */
export const thisInstanceOnly: LivePresence = {
  opened: () => undefined,
  closed: () => undefined,
  elsewhere: async () => false,
  stop: async () => undefined,
};

/** How long an instance's mark lasts unless renewed: an instance that dies stops counting within it. */
const markMs = 60_000;

/**
 * Marks renewed (or removed) per round trip, with the event loop free between: 10,000 in one
 * MULTI held it for 200–300 ms (building 30,000 commands, then taking the one reply to them all),
 * and every live event arriving meanwhile waited.
 */
const markSlice = 500;

/**
 * Each instance marks, per device it holds a connection of, a member of a sorted set whose score
 * is when the mark runs out, and renews its marks well before; a crashed instance's marks run out
 * by themselves. Redis out of reach: the device counts as not connected elsewhere (a push too many,
 * never one lost).
 */
export class RedisLivePresence implements LivePresence {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly logger: Logger;
  private readonly instance = randomUUID();
  private readonly held = new Map<string, number>();
  private readonly renewal: NodeJS.Timeout;

  constructor(options: { url: string; prefix: string; logger: Logger }) {
    this.redis = new Redis(options.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2_000, commandTimeout: 2_000 });
    this.redis.on('error', () => undefined);
    this.prefix = `${options.prefix}live:presence:`;
    this.logger = options.logger;
    this.renewal = setInterval(() => void this.renewAll(), markMs / 3);
    this.renewal.unref();
  }

  private key(userId: string, device: string): string {
    return `${this.prefix}${userId}:${device}`;
  }

  opened(userId: string, device: string): void {
    const key = this.key(userId, device);
    const count = (this.held.get(key) ?? 0) + 1;
    this.held.set(key, count);
    if (count === 1) void this.renew([key]);
  }

  closed(userId: string, device: string): void {
    const key = this.key(userId, device);
    const count = (this.held.get(key) ?? 0) - 1;
    if (count > 0) return void this.held.set(key, count);
    this.held.delete(key);
    this.redis.zrem(key, this.instance).catch(() => undefined);
  }

  async elsewhere(userId: string, device: string): Promise<boolean> {
    try {
      const marks = await this.redis.zrangebyscore(this.key(userId, device), Date.now(), '+inf', 'LIMIT', 0, 2);
      return marks.some((member) => member !== this.instance);
    } catch {
      return false;
    }
  }

  /** Renews every mark this instance holds (on a timer, well before they run out). */
  renewAll(): Promise<void> {
    return this.renew([...this.held.keys()]);
  }

  private async renew(keys: string[]): Promise<void> {
    const until = Date.now() + markMs;
    await this.inSlices(keys, (batch, key) => batch.zadd(key, until, this.instance).zremrangebyscore(key, '-inf', Date.now()).pexpire(key, markMs * 2)).catch((error: unknown) =>
      this.logger.debug({ err: error }, 'could not renew live presence marks'),
    );
  }

  private async inSlices(keys: string[], add: (batch: ChainableCommander, key: string) => void): Promise<void> {
    for (let from = 0; from < keys.length; from += markSlice) {
      const batch = this.redis.pipeline();
      for (const key of keys.slice(from, from + markSlice)) add(batch, key);
      await batch.exec();
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.renewal);
    const keys = [...this.held.keys()];
    this.held.clear();
    await this.inSlices(keys, (batch, key) => batch.zrem(key, this.instance)).catch(() => undefined);
    this.redis.disconnect();
  }
}
