import { isIPv4, isIPv6 } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { AppError } from './errors.ts';
import { LeasedCounts } from './leased-counts.ts';
import type { Logger } from './logger.ts';

/**
 * Every path on which someone can guess a secret. Each kind of credential has its own budget per
 * account (TOTP and recovery codes share the second factor's), so a right password never buys
 * more guesses at a code; every guess also counts against its source's one counter.
 */
export type CredentialKind =
  | 'password'
  | 'totp'
  | 'recovery_code'
  | 'app_password'
  | 'passkey'
  | 'email_code'
  | 'reset_token'
  | 'device_code'
  | 'reset_request'
  | 'signup';

export interface AttemptKeys {
  /** The account being tried: its user id when known, else "email:<lower-cased email>" (so unknown accounts lock the same way). */
  accountKey?: string | null;
  /** ctx.ip: the socket's address, or X-Forwarded-For only when TRUST_PROXY is set. */
  ip: string;
  /**
   * A browser the account has signed in from before (the hash of its browser cookie, checked
   * against known_devices by the caller): its guesses have a budget of their own, so no lock
   * earned from other sources (nor its address's lock, nor the account's ceiling) keeps it out.
   */
  knownBrowser?: string | null;
  /**
   * App-password checks: the service whose authenticated client asks. Its checks have a budget of
   * their own per account and are not counted per IP (the IP is the service's server, shared by
   * all its users), so one service's bad checks never lock out another's, nor its own other users.
   */
  service?: string | null;
}

/** The counters one attempt holds a point of: what succeed() and release() give back. */
interface Held {
  ip?: string;
  source?: string;
  ceiling?: string;
}

export interface Attempt {
  kind: CredentialKind;
  keys: AttemptKeys;
  /** False: refused before verifying anything; answer exactly as for a wrong secret. */
  allowed: boolean;
  /** Attempts on this account in the current window, this one included. */
  accountAttempts: number;
  /** When refused: seconds until the next attempt may be allowed. */
  retryAfter: number;
  held: Held;
}

export interface Limits {
  /**
   * Reserves one attempt before the secret is checked (consume first, atomically in the store),
   * so parallel guesses cannot overshoot the limit. Throws a 503 AppError when the store is down:
   * limits fail closed.
   */
  check(kind: CredentialKind, keys: AttemptKeys): Promise<Attempt>;
  /** The secret was wrong: past the slow-down threshold this waits before returning. */
  fail(attempt: Attempt): Promise<void>;
  /**
   * The secret was right: the attempt is given back and this source's failures at this kind of
   * credential are forgotten; other kinds' counters and the account's ceiling keep theirs.
   */
  succeed(attempt: Attempt): Promise<void>;
  /** Gives back a reserved attempt that was never judged (the hub was too busy to check it). */
  release(attempt: Attempt): Promise<void>;
  /**
   * Counts one API request against `perMinute` for this scope and key (a fixed one-minute
   * window, in Redis when configured, in this instance's memory while Redis is out of reach).
   * Never throws: should both fail, the request passes (these limits keep one service's bursts
   * from others; refusing every sign-in then would be worse).
   */
  throttle(scope: ApiRateScope, key: string, perMinute: number): Promise<Throttled>;
  /**
   * Erasure: drops every counter named after this account (by id), with the addresses and
   * browsers its keys hold. Returns how many went.
   */
  forget(accountKey: string): Promise<number>;
  close(): Promise<void>;
}

export const limitPolicy = {
  /**
   * Failures per account, per kind of credential and per source (an IPv4 address, an IPv6 /64, a
   * known device, or for app passwords the calling service) in `windowSeconds` before that source
   * is locked out of that account for `lockSeconds`.
   */
  accountAttempts: 10,
  /**
   * Failures per account and kind from every source that is not a known device, in
   * `ceilingWindowSeconds`: past it those sources are refused until the window ends. A distributed
   * guess gets at most this many tries a day; locking a person out this way takes 30 source
   * windows of 10 failures (30 addresses or /64s, or one for 7.5 hours), and even then their known
   * devices still sign in.
   */
  accountCeiling: 300,
  ceilingWindowSeconds: 24 * 3600,
  /** Failures per source (every account together) before that source locks. */
  ipAttempts: 50,
  windowSeconds: 15 * 60,
  lockSeconds: 15 * 60,
  /** From this many failures on, each further failure is answered more slowly (doubling, capped). */
  slowAfter: 5,
  slowBaseMs: 100,
  slowMaxMs: 2_000,
  /** Reset mail: per account and per IP, per hour. Not secrets, but each one sends mail. */
  resetMailsPerAccount: 3,
  resetMailsPerIp: 20,
  /** New accounts per IP per hour. */
  signupsPerIp: 20,
} as const;

/** The API rate limits a service has: /token per client, POST /api/v1/events, /hub/* per person and client. */
export type ApiRateScope = 'token' | 'events' | 'hub';

/** The API limits' fixed window: their limits are per minute. */
const apiWindowSeconds = 60;

/** Requests per minute when the service sets none (services.*_rate_limit null). */
export const apiRateDefaults: Record<ApiRateScope, number> = { token: 600, events: 1200, hub: 300 };

export interface Throttled {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the window starts again. */
  reset: number;
}

/** draft-ietf-httpapi-ratelimit-headers: RateLimit-Policy and RateLimit, and Retry-After when refused. */
export function rateLimitHeaders(scope: ApiRateScope, result: Throttled): Array<[string, string]> {
  const headers: Array<[string, string]> = [
    ['RateLimit-Policy', `"${scope}";q=${result.limit};w=60`],
    ['RateLimit', `"${scope}";r=${result.remaining};t=${result.reset}`],
  ];
  if (!result.allowed) headers.push(['Retry-After', String(Math.max(1, result.reset))]);
  return headers;
}

export class LimitsUnavailable extends AppError {
  constructor(cause: unknown) {
    super('busy', 'Signing in is unavailable for a moment. Try again shortly.', { retryAfter: 5, cause });
  }
}

export interface LimitsOptions {
  redisUrl: string | null;
  redisPrefix: string;
  logger: Logger;
  /** Told of every refusal, by limit: a credential kind, or `api_<scope>` (the hub counts them: uniqverse_rate_limit_refusals_total). */
  onRefused?: (limit: string) => void;
}

type LimiterOptions = { points: number; duration: number; blockDuration?: number; keyPrefix: string };

export async function createLimits(options: LimitsOptions): Promise<Limits> {
  const { logger } = options;
  const refused = options.onRefused ?? (() => undefined);
  let redis: Redis | null = null;
  let make: (o: LimiterOptions) => RateLimiterAbstract;
  let leased: LeasedCounts | null = null;
  if (options.redisUrl) {
    // No offline queue: while Redis is unreachable a command fails at once (and we refuse the
    // attempt) instead of waiting in a queue; ioredis keeps reconnecting in the background. A Redis
    // that is connected but does not answer (frozen, overloaded) fails the command after 2 s.
    const client = new Redis(options.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2_000, commandTimeout: 2_000 });
    redis = client;
    let reported = false;
    client.on('error', (error) => {
      if (!reported) logger.warn({ err: error }, 'rate-limit store (Redis) unreachable: credential checks answer 503 until it is back');
      reported = true;
    });
    client.on('ready', () => (reported = false));
    await Promise.race([new Promise((resolve) => client.once('ready', resolve)), sleep(2_000, undefined, { ref: false })]);
    make = (o) => new RateLimiterRedis({ storeClient: client, rejectIfRedisNotReady: true, ...o, keyPrefix: `${options.redisPrefix}${o.keyPrefix}` });
    leased = new LeasedCounts(client, apiWindowSeconds);
  } else {
    make = (o) => new RateLimiterMemory(o);
  }

  const guess = {
    account: make({ keyPrefix: 'limit:acct-src', points: limitPolicy.accountAttempts, duration: limitPolicy.windowSeconds, blockDuration: limitPolicy.lockSeconds }),
    ip: make({ keyPrefix: 'limit:ip', points: limitPolicy.ipAttempts, duration: limitPolicy.windowSeconds, blockDuration: limitPolicy.lockSeconds }),
    ceiling: make({ keyPrefix: 'limit:acct-all', points: limitPolicy.accountCeiling, duration: limitPolicy.ceilingWindowSeconds }),
  };
  const resetMail = {
    account: make({ keyPrefix: 'limit:reset-acct', points: limitPolicy.resetMailsPerAccount, duration: 3600 }),
    ip: make({ keyPrefix: 'limit:reset-ip', points: limitPolicy.resetMailsPerIp, duration: 3600 }),
  };
  const signup = {
    account: resetMail.account,
    ip: make({ keyPrefix: 'limit:signup-ip', points: limitPolicy.signupsPerIp, duration: 3600 }),
  };
  /** Requests that send mail or make accounts are counted, never rewarded; guesses are. */
  const counted = (kind: CredentialKind) => kind === 'reset_request' || kind === 'signup';
  const limitersFor = (kind: CredentialKind) => (kind === 'reset_request' ? resetMail : signup);

  /** Refused (over the limit) → the RateLimiterRes; the store failing → LimitsUnavailable. */
  async function consume(limiter: RateLimiterAbstract, key: string): Promise<{ ok: true; res: RateLimiterRes } | { ok: false; res: RateLimiterRes }> {
    try {
      return { ok: true, res: await limiter.consume(key) };
    } catch (error) {
      if (error instanceof RateLimiterRes) return { ok: false, res: error };
      throw new LimitsUnavailable(error);
    }
  }

  const retryAfter = (res: RateLimiterRes) => Math.max(1, Math.ceil(res.msBeforeNext / 1000));
  // Counted, not refused, by the store: each service's limit is compared here, so one limiter per
  // scope serves every service. With Redis these count only while it is out of reach, in this
  // instance's memory: a service is then held to its limit per instance rather than let through.
  const apiInMemory: Record<ApiRateScope, RateLimiterAbstract> = {
    token: new RateLimiterMemory({ keyPrefix: 'limit:api-token', points: Number.MAX_SAFE_INTEGER, duration: apiWindowSeconds }),
    events: new RateLimiterMemory({ keyPrefix: 'limit:api-events', points: Number.MAX_SAFE_INTEGER, duration: apiWindowSeconds }),
    hub: new RateLimiterMemory({ keyPrefix: 'limit:api-hub', points: Number.MAX_SAFE_INTEGER, duration: apiWindowSeconds }),
  };
  async function countApiRequest(scope: ApiRateScope, key: string, perMinute: number): Promise<{ consumedPoints: number; msBeforeNext: number }> {
    if (leased) {
      try {
        const count = await leased.count(`${options.redisPrefix}limit:api-${scope}:${key}`, perMinute);
        return { consumedPoints: count.consumed, msBeforeNext: count.msBeforeNext };
      } catch {
        // Redis out of reach: this instance's memory counts (below).
      }
    }
    return apiInMemory[scope].consume(key);
  }

  async function checkAttempt(kind: CredentialKind, keys: AttemptKeys): Promise<Attempt> {
    const held: Held = {};
    const attempt: Attempt = { kind, keys, allowed: false, accountAttempts: 0, retryAfter: 0, held };
    if (counted(kind)) {
      const limiters = limitersFor(kind);
      const byIp = await consume(limiters.ip, sourceOf(keys.ip));
      if (!byIp.ok) return { ...attempt, retryAfter: retryAfter(byIp.res) };
      if (keys.accountKey && kind !== 'signup') {
        const byAccount = await consume(limiters.account, keys.accountKey.toLowerCase());
        attempt.accountAttempts = byAccount.res.consumedPoints;
        if (!byAccount.ok) return { ...attempt, retryAfter: retryAfter(byAccount.res) };
      }
      return { ...attempt, allowed: true };
    }
    // Only with the account known: a service's budget is per person.
    const service = kind === 'app_password' && keys.accountKey ? keys.service : null;
    // A service's authenticated client checks for all its users from one address: not an IP's
    // guesses. A known device has its own budget on the account: a network's lock (a shared NAT
    // where someone sprays guesses) does not keep it out either.
    const ownBudget = Boolean(keys.accountKey && keys.knownBrowser);
    if (!service && !ownBudget) {
      held.ip = sourceOf(keys.ip);
      const byIp = await consume(guess.ip, held.ip);
      if (!byIp.ok) return { ...attempt, retryAfter: retryAfter(byIp.res) };
    }
    if (keys.accountKey) {
      const budget = `${budgetOf(kind)}:${keys.accountKey.toLowerCase()}`;
      const from = service ? `service:${service}` : keys.knownBrowser ? `device:${keys.knownBrowser}` : `source:${sourceOf(keys.ip)}`;
      held.source = `${budget}:${from}`;
      const bySource = await consume(guess.account, held.source);
      attempt.accountAttempts = bySource.res.consumedPoints;
      if (!bySource.ok) return { ...attempt, retryAfter: retryAfter(bySource.res) };
      // App passwords are long random secrets: a ceiling across services would only let one
      // service's checks lock out another's.
      if (!service && !keys.knownBrowser) {
        held.ceiling = budget;
        const all = await consume(guess.ceiling, held.ceiling);
        if (!all.ok) return { ...attempt, retryAfter: retryAfter(all.res) };
      }
    }
    return { ...attempt, allowed: true };
  }

  return {
    async check(kind, keys) {
      const attempt = await checkAttempt(kind, keys);
      if (!attempt.allowed) refused(kind);
      return attempt;
    },

    async fail(attempt) {
      if (!attempt.allowed || counted(attempt.kind)) return;
      const over = attempt.accountAttempts - limitPolicy.slowAfter;
      if (over > 0) await sleep(Math.min(limitPolicy.slowMaxMs, limitPolicy.slowBaseMs * 2 ** (over - 1)));
    },

    async succeed(attempt) {
      if (!attempt.allowed || counted(attempt.kind)) return;
      const { held } = attempt;
      try {
        if (held.ip) await guess.ip.reward(held.ip, 1);
        if (held.source) await guess.account.delete(held.source);
        // Only this attempt back: a person's own sign-ins must not reopen a distributed guess.
        if (held.ceiling) await guess.ceiling.reward(held.ceiling, 1);
      } catch (error) {
        // The person is in; failing to forget their earlier failures only makes the next lock come sooner.
        logger.warn({ err: error }, 'could not reset rate-limit counters after a good credential');
      }
    },

    async release(attempt) {
      if (!attempt.allowed || counted(attempt.kind)) return;
      const { held } = attempt;
      try {
        if (held.ip) await guess.ip.reward(held.ip, 1);
        if (held.source) await guess.account.reward(held.source, 1);
        if (held.ceiling) await guess.ceiling.reward(held.ceiling, 1);
      } catch (error) {
        logger.warn({ err: error }, 'could not give back an unjudged attempt');
      }
    },

    async throttle(scope, key, perMinute) {
      try {
        const res = await countApiRequest(scope, key, perMinute);
        const reset = Math.max(0, Math.ceil(res.msBeforeNext / 1000));
        if (res.consumedPoints > perMinute) refused(`api_${scope}`);
        return { allowed: res.consumedPoints <= perMinute, limit: perMinute, remaining: Math.max(0, perMinute - res.consumedPoints), reset };
      } catch (error) {
        // Only when the store and this instance's memory both fail.
        logger.warn({ err: error }, 'API rate-limit store unreachable: the request passes');
        return { allowed: true, limit: perMinute, remaining: perMinute, reset: 60 };
      }
    },

    async forget(accountKey) {
      const needle = accountKey.toLowerCase();
      if (!/^[\w-]+$/.test(needle)) throw new TypeError('an account key to forget is an id');
      if (redis) {
        let gone = 0;
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${options.redisPrefix}limit:*${needle}*`, 'COUNT', 1000);
          cursor = next;
          if (keys.length) gone += await redis.unlink(...keys);
        } while (cursor !== '0');
        return gone;
      }
      let gone = 0;
      for (const limiter of [guess.account, guess.ceiling, resetMail.account]) {
        // RateLimiterMemory keeps its counters in a Map under `${keyPrefix}:${key}`; the tests read it back.
        const storage = (limiter as unknown as { _memoryStorage?: { _storage?: Map<string, unknown> } })._memoryStorage?._storage;
        for (const key of [...(storage?.keys() ?? [])]) {
          if (key.includes(needle)) {
            await limiter.delete(key.slice(key.indexOf(':', 'limit:'.length) + 1));
            gone++;
          }
        }
      }
      return gone;
    },

    async close() {
      redis?.disconnect();
    },
  };
}

/** The account key for a typed email when no account has it (unknown accounts are limited like real ones). */
export const emailAccountKey = (email: string) => `email:${email.trim().toLowerCase()}`;

/** TOTP and recovery codes are one budget, the second factor's; every other kind is its own. */
const budgetOf = (kind: CredentialKind) => (kind === 'totp' || kind === 'recovery_code' ? 'second_factor' : kind);

/**
 * The source a guess is counted against: an IPv4 address, or an IPv6 address's /64 (one
 * subscriber's network: a host there can take any of its 2^64 addresses).
 */
export function sourceOf(ip: string): string {
  const address = (ip || '').replace(/%.*$/, '').toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (mapped && isIPv4(mapped[1]!)) return mapped[1]!;
  if (isIPv4(address)) return address;
  if (!isIPv6(address)) return address || 'unknown';
  const [head = '', tail = ''] = address.split('::');
  const groupsOf = (part: string) => (part ? part.split(':') : []);
  let left = groupsOf(head);
  if (!address.includes('::')) left = groupsOf(address);
  // An embedded IPv4 tail only ever sits in the last 32 bits, outside the /64.
  const right = address.includes('::') ? groupsOf(tail) : [];
  const rightCount = right.reduce((n, g) => n + (g.includes('.') ? 2 : 1), 0);
  const groups = [...left, ...Array<string>(Math.max(0, 8 - left.length - rightCount)).fill('0'), ...right];
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}
