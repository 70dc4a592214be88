import type { Redis } from 'ioredis';

/** The point a request was given in its window (1 for the first) and the time left in that window. */
export interface Count {
  consumed: number;
  msBeforeNext: number;
}

/** Points of one key's window this instance holds: `next` to `last` are its own to hand out. */
interface Lease {
  windowEndsAt: number;
  next: number;
  last: number;
  /** The window's total in the store when this lease was taken: what the next lease's size is judged by. */
  total: number;
}

/** The most points one lease takes, and the share of a window's headroom it may take. */
const largestLease = 64;
const headroomShare = 8;
/** Leases kept before expired ones are swept out. */
const sweepAbove = 10_000;

// The layout of rate-limiter-flexible's RateLimiterRedis (a counter that lives as long as its
// window): instances of an older hub count the same windows during a rolling upgrade.
const leaseScript = `redis.call('set', KEYS[1], 0, 'EX', ARGV[2], 'NX')
local total = redis.call('incrby', KEYS[1], ARGV[1])
local ttl = redis.call('pttl', KEYS[1])
if ttl == -1 then
  redis.call('expire', KEYS[1], ARGV[2])
  ttl = 1000 * ARGV[2]
end
return {total, ttl}`;

type LeaseCommand = (key: string, points: number, windowSeconds: number) => Promise<[number, number]>;

/**
 * Fixed-window request counts shared by every instance through Redis, taken in leases: an
 * instance reserves a run of points in one call and hands them out from memory, so a client
 * that calls often costs a Redis round trip per lease, not per request (the round trip was most
 * of /token's cost beyond the bare provider's, docs/benchmarks.md).
 *
 * Each point is handed out once across all instances, so no window admits more requests than
 * its limit. A lease takes at most an eighth of the headroom left under the limit, and a single
 * point once the limit is near, so with one instance the count is exact; with several, points
 * one instance reserved and did not use can make another refuse a few requests early, never late.
 * Once a window's limit is reached, this instance refuses until the window ends without asking
 * Redis again (unless a higher limit is asked for).
 */
export class LeasedCounts {
  readonly #leases = new Map<string, Lease>();
  readonly #taking = new Map<string, Promise<void>>();
  readonly #lease: LeaseCommand;
  readonly #windowSeconds: number;

  constructor(redis: Redis, windowSeconds: number) {
    this.#windowSeconds = windowSeconds;
    const name = 'uniqverseLeaseCount';
    if (!(name in redis)) redis.defineCommand(name, { numberOfKeys: 1, lua: leaseScript });
    const command = (redis as unknown as Record<string, (key: string, points: number, windowSeconds: number) => Promise<[number, number]>>)[name]!;
    this.#lease = (key, points, seconds) => command.call(redis, key, points, seconds);
  }

  /** Counts one request on `key`, whose window admits `limit`. Fails when Redis does. */
  async count(key: string, limit: number): Promise<Count> {
    for (;;) {
      const now = Date.now();
      let lease = this.#leases.get(key);
      if (lease && now >= lease.windowEndsAt) {
        this.#leases.delete(key);
        lease = undefined;
      }
      if (lease && lease.next <= lease.last) return { consumed: lease.next++, msBeforeNext: lease.windowEndsAt - now };
      if (lease && lease.total >= limit) {
        lease.total++;
        return { consumed: lease.total, msBeforeNext: lease.windowEndsAt - now };
      }
      const taking = this.#taking.get(key);
      if (taking) {
        await taking;
        continue;
      }
      const points = lease ? Math.max(1, Math.min(largestLease, Math.floor((limit - lease.total) / headroomShare))) : 1;
      const took = this.#take(key, points);
      this.#taking.set(key, took);
      try {
        await took;
      } finally {
        this.#taking.delete(key);
      }
    }
  }

  async #take(key: string, points: number): Promise<void> {
    const [total, ttl] = await this.#lease(key, points, this.#windowSeconds);
    if (this.#leases.size >= sweepAbove) this.#sweep();
    this.#leases.set(key, { windowEndsAt: Date.now() + ttl, next: total - points + 1, last: total, total });
  }

  #sweep(): void {
    const now = Date.now();
    for (const [key, lease] of this.#leases) if (now >= lease.windowEndsAt) this.#leases.delete(key);
  }
}
