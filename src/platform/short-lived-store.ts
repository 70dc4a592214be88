import { Redis } from 'ioredis';

/**
 * Where the hub keeps what lives minutes and needs no durability: the provider's interactions
 * (the state of a sign-in between its pages). Losing one costs a person a restarted sign-in,
 * never an account, a session or a token, so it need not cost the database a write per page.
 * With REDIS_URL it is Redis, which every instance shares; without it the instance's memory, as
 * the hub is then one instance (docs/configuration.md, REDIS_URL).
 */
export interface ShortLivedStore {
  get(key: string): Promise<string | undefined>;
  /** Replaces the value; it is gone after `ttlSeconds`. */
  set(key: string, value: string, ttlSeconds: number): Promise<void>;
  delete(key: string): Promise<void>;
  close(): Promise<void>;
}

/** Redis could not be reached in time: the request answers 503 (src/db/unavailable.ts), as for the database. */
export class StorageUnavailableError extends Error {
  override name = 'StorageUnavailableError';
}

export class MemoryShortLivedStore implements ShortLivedStore {
  private readonly entries = new Map<string, { value: string; expires: number }>();
  private readonly maxEntries: number;

  /** `maxEntries` bounds memory against a flood of sign-in starts: past it, the oldest go first. */
  constructor({ maxEntries = 100_000 }: { maxEntries?: number } = {}) {
    this.maxEntries = maxEntries;
  }

  get size(): number {
    return this.entries.size;
  }

  async get(key: string): Promise<string | undefined> {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expires <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    // Deleted first so the key moves to the end: the Map's order is the order of last writes.
    this.entries.delete(key);
    this.entries.set(key, { value, expires: Date.now() + ttlSeconds * 1000 });
    if (this.entries.size > this.maxEntries) this.evict();
  }

  async delete(key: string): Promise<void> {
    this.entries.delete(key);
  }

  async close(): Promise<void> {
    this.entries.clear();
  }

  private evict(): void {
    const now = Date.now();
    for (const [key, entry] of this.entries) if (entry.expires <= now) this.entries.delete(key);
    for (const key of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) break;
      this.entries.delete(key);
    }
  }
}

export class RedisShortLivedStore implements ShortLivedStore {
  private readonly redis: Redis;
  private readonly prefix: string;

  constructor(url: string, prefix: string) {
    // No offline queue and short timeouts: a sign-in page waits seconds at most, then answers 503.
    this.redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2_000, commandTimeout: 2_000 });
    this.redis.on('error', () => undefined);
    this.prefix = `${prefix}short:`;
  }

  private async run<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (error) {
      throw new StorageUnavailableError(`Redis: ${(error as Error).message}`, { cause: error });
    }
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.run(() => this.redis.get(this.prefix + key))) ?? undefined;
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    await this.run(() => this.redis.set(this.prefix + key, value, 'EX', Math.max(1, Math.ceil(ttlSeconds))));
  }

  async delete(key: string): Promise<void> {
    await this.run(() => this.redis.del(this.prefix + key));
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}

export function createShortLivedStore(redisUrl: string | null, prefix: string): ShortLivedStore {
  return redisUrl ? new RedisShortLivedStore(redisUrl, prefix) : new MemoryShortLivedStore();
}
