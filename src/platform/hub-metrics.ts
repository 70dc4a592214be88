import { Counter, Histogram, type Registry } from 'prom-client';
import { AppError } from './errors.ts';

export type HubMetrics = ReturnType<typeof createHubMetrics>;

/** How a person signed in (or tried to): one value per credential the hub checks. */
export type SignInMethod = 'password' | 'passkey' | 'totp' | 'recovery_code' | 'passkey_second_factor' | 'app_password';

/**
 * What came of it. `second_factor_required`: the password was right and the second step follows
 * (counted again under its own method); the failures are the hub's own reasons, a bounded set.
 */
export type SignInOutcome = 'success' | 'second_factor_required' | 'invalid_credentials' | 'rate_limited' | 'busy' | 'account_disabled' | 'error';

/**
 * The hub's request, sign-in, token and limit counters, registered on the hub's registry (served
 * at /metrics). Each label takes values from a bounded set: route templates, registered services
 * and clients, grant types the provider accepts, the credential kinds, never a raw path or a
 * person's id. The event system's own are in src/events/metrics.ts; gauges read from the
 * database or from parts of the hub are in src/app/instance-metrics.ts.
 */
export function createHubMetrics(registry: Registry) {
  const registers = [registry];
  return {
    httpRequests: new Histogram({
      name: 'uniqverse_http_request_duration_seconds',
      help: 'HTTP requests by route template (other: unmatched), calling service or client (none: unknown), method and status class; _count is the request count.',
      labelNames: ['route', 'service', 'method', 'code'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    signIns: new Counter({
      name: 'uniqverse_sign_ins_total',
      help: 'Sign-in attempts by method (password, passkey, totp, recovery_code, passkey_second_factor, app_password) and outcome.',
      labelNames: ['method', 'outcome'],
      registers,
    }),
    tokensIssued: new Counter({
      name: 'uniqverse_tokens_issued_total',
      help: 'Successful token endpoint answers by grant type and the service (or client) that asked.',
      labelNames: ['grant_type', 'service'],
      registers,
    }),
    refreshTokenReuse: new Counter({
      name: 'uniqverse_refresh_token_reuse_total',
      help: 'Refresh tokens presented again after they were used (the grant is revoked), by service.',
      labelNames: ['service'],
      registers,
    }),
    gatewayRequests: new Histogram({
      name: 'uniqverse_gateway_request_duration_seconds',
      help: 'Requests through /gateway/<slug>/ by service and outcome (ok, upstream_error: a 5xx from the upstream, unreachable, timeout, circuit_open, too_large, rate_limited, refused: no caller or token exchange refused); _count is the request count.',
      labelNames: ['service', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    rateLimitRefusals: new Counter({
      name: 'uniqverse_rate_limit_refusals_total',
      help: 'Requests refused by a rate limit, by limit (a credential kind such as password or totp, or api_token, api_events, api_hub).',
      labelNames: ['limit'],
      registers,
    }),
  };
}

/** A failed sign-in's outcome, from the error that ended it. */
export function signInFailureOf(error: unknown): SignInOutcome {
  if (!(error instanceof AppError)) return 'error';
  if (error.code === 'unauthorized' || error.code === 'invalid_input') return 'invalid_credentials';
  if (error.code === 'rate_limited') return 'rate_limited';
  if (error.code === 'busy') return 'busy';
  return 'error';
}

/**
 * Runs one sign-in attempt and counts it: by what `attempt` returns (success unless it says
 * otherwise), or by the error it throws, which is thrown on.
 */
export async function countSignIn(metrics: Pick<HubMetrics, 'signIns'>, method: SignInMethod, attempt: () => Promise<SignInOutcome | void>): Promise<void> {
  let outcome: SignInOutcome;
  try {
    outcome = (await attempt()) ?? 'success';
  } catch (error) {
    metrics.signIns.inc({ method, outcome: signInFailureOf(error) });
    throw error;
  }
  metrics.signIns.inc({ method, outcome });
}
