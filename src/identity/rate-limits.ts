import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { AppError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';

/**
 * Every path on which someone can guess a secret. They share one counter per account and one per
 * IP, so guessing a password, then TOTP codes, then recovery codes buys nothing.
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
  /** The secret was right: the attempt is given back and the account's failures are forgotten. */
  succeed(attempt: Attempt): Promise<void>;
  /** Gives back a reserved attempt that was never judged (the hub was too busy to check it). */
  release(attempt: Attempt): Promise<void>;
  /**
   * Counts one API request against `perMinute` for this scope and key (a fixed one-minute
   * window, in Redis when configured). Never throws: when the store is down the request passes
   * (these limits keep one service's bursts from others; refusing every sign-in then would be worse).
   */
  throttle(scope: ApiRateScope, key: string, perMinute: number): Promise<Throttled>;
  close(): Promise<void>;
}

export const limitPolicy = {
  /** Failures per account in `windowSeconds` before it locks for `lockSeconds`. */
  accountAttempts: 10,
  /** Failures per IP (every account together) before that IP locks. */
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
}

type LimiterOptions = { points: number; duration: number; blockDuration?: number; keyPrefix: string };

export async function createLimits(options: LimitsOptions): Promise<Limits> {
  const { logger } = options;
  let redis: Redis | null = null;
  let make: (o: LimiterOptions) => RateLimiterAbstract;
  if (options.redisUrl) {
    // No offline queue: while Redis is unreachable a command fails at once (and we refuse the
    // attempt) instead of waiting in a queue; ioredis keeps reconnecting in the background.
    const client = new Redis(options.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2_000 });
    redis = client;
    let reported = false;
    client.on('error', (error) => {
      if (!reported) logger.warn({ err: error }, 'rate-limit store (Redis) unreachable: credential checks answer 503 until it is back');
      reported = true;
    });
    client.on('ready', () => (reported = false));
    await Promise.race([new Promise((resolve) => client.once('ready', resolve)), sleep(2_000, undefined, { ref: false })]);
    make = (o) => new RateLimiterRedis({ storeClient: client, rejectIfRedisNotReady: true, ...o, keyPrefix: `${options.redisPrefix}${o.keyPrefix}` });
  } else {
    make = (o) => new RateLimiterMemory(o);
  }

  const guess = {
    account: make({ keyPrefix: 'limit:acct', points: limitPolicy.accountAttempts, duration: limitPolicy.windowSeconds, blockDuration: limitPolicy.lockSeconds }),
    ip: make({ keyPrefix: 'limit:ip', points: limitPolicy.ipAttempts, duration: limitPolicy.windowSeconds, blockDuration: limitPolicy.lockSeconds }),
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
  const limitersFor = (kind: CredentialKind) => (kind === 'reset_request' ? resetMail : kind === 'signup' ? signup : guess);

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
  // Counted, not refused, by the store: each service's limit is compared here, so one limiter per scope serves every service.
  const api: Record<ApiRateScope, RateLimiterAbstract> = {
    token: make({ keyPrefix: 'limit:api-token', points: Number.MAX_SAFE_INTEGER, duration: 60 }),
    events: make({ keyPrefix: 'limit:api-events', points: Number.MAX_SAFE_INTEGER, duration: 60 }),
    hub: make({ keyPrefix: 'limit:api-hub', points: Number.MAX_SAFE_INTEGER, duration: 60 }),
  };

  return {
    async check(kind, keys) {
      const limiters = limitersFor(kind);
      const attempt: Attempt = { kind, keys, allowed: false, accountAttempts: 0, retryAfter: 0 };
      const byIp = await consume(limiters.ip, keys.ip || 'unknown');
      if (!byIp.ok) return { ...attempt, retryAfter: retryAfter(byIp.res) };
      if (keys.accountKey && kind !== 'signup') {
        const byAccount = await consume(limiters.account, keys.accountKey.toLowerCase());
        attempt.accountAttempts = byAccount.res.consumedPoints;
        if (!byAccount.ok) return { ...attempt, retryAfter: retryAfter(byAccount.res) };
      }
      return { ...attempt, allowed: true };
    },

    async fail(attempt) {
      if (!attempt.allowed || counted(attempt.kind)) return;
      const over = attempt.accountAttempts - limitPolicy.slowAfter;
      if (over > 0) await sleep(Math.min(limitPolicy.slowMaxMs, limitPolicy.slowBaseMs * 2 ** (over - 1)));
    },

    async succeed(attempt) {
      if (!attempt.allowed || counted(attempt.kind)) return;
      const limiters = limitersFor(attempt.kind);
      try {
        await limiters.ip.reward(attempt.keys.ip || 'unknown', 1);
        if (attempt.keys.accountKey) await limiters.account.delete(attempt.keys.accountKey.toLowerCase());
      } catch (error) {
        // The person is in; failing to forget their earlier failures only makes the next lock come sooner.
        logger.warn({ err: error }, 'could not reset rate-limit counters after a good credential');
      }
    },

    async release(attempt) {
      if (!attempt.allowed || counted(attempt.kind)) return;
      const limiters = limitersFor(attempt.kind);
      try {
        await limiters.ip.reward(attempt.keys.ip || 'unknown', 1);
        if (attempt.keys.accountKey) await limiters.account.reward(attempt.keys.accountKey.toLowerCase(), 1);
      } catch (error) {
        logger.warn({ err: error }, 'could not give back an unjudged attempt');
      }
    },

    async throttle(scope, key, perMinute) {
      try {
        const res = await api[scope].consume(key);
        const reset = Math.max(0, Math.ceil(res.msBeforeNext / 1000));
        return { allowed: res.consumedPoints <= perMinute, limit: perMinute, remaining: Math.max(0, perMinute - res.consumedPoints), reset };
      } catch (error) {
        logger.warn({ err: error }, 'API rate-limit store unreachable: the request passes');
        return { allowed: true, limit: perMinute, remaining: perMinute, reset: 60 };
      }
    },

    async close() {
      redis?.disconnect();
    },
  };
}

/** The account key for a typed email when no account has it (unknown accounts are limited like real ones). */
export const emailAccountKey = (email: string) => `email:${email.trim().toLowerCase()}`;
