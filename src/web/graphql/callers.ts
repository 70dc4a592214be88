import type { Context } from 'koa';
import { AppError } from '../../platform/errors.ts';
import { safeEqual } from '../../platform/crypto/tokens.ts';
import { apiRateDefaults, rateLimitHeaders, type Limits, type Throttled } from '../../platform/rate-limits.ts';
import { ratesOf, type ServiceRateLimits } from '../../catalog/service-rate-limits.ts';
import { bearerCaller, requireHubScope, sessionCaller, type Caller, type CallerDeps } from '../http/callers.ts';

export type PersonCaller = Extract<Caller, { kind: 'person' }>;
export type ServiceCaller = Extract<Caller, { kind: 'service' }>;

export interface GraphqlCallerDeps extends CallerDeps {
  /** The portal's CSRF token for a session uid (src/web/http/csrf.ts). */
  csrfTokenFor: (sessionUid: string) => string;
  /** CORS per client (src/web/api/hub-cors.ts): another origin only with a token of a client registered there. */
  cors: { allow(ctx: Context, clientId: string | null): Promise<void> };
  /** A device's "last seen" moves when its token is used. */
  sightings: { seen(userId: string, grantRef: string): Promise<void> };
  limits: Limits;
  serviceRates: ServiceRateLimits;
}

/**
 * Who calls /graphql: a person's hub token (scope "hub", its grant still held), a service's
 * client-credentials token, the portal's session cookie (a POST with the portal's CSRF token in
 * X-CSRF-Token, from the hub's own origin), or nobody. Throws AppError (InvalidToken: 401).
 */
export async function graphqlCaller(deps: GraphqlCallerDeps, ctx: Context): Promise<Caller | null> {
  const bearer = await bearerCaller(deps, ctx.req, ctx.path);
  if (bearer?.kind === 'person') {
    await requireHubScope(deps, bearer, (name, value) => ctx.set(name, value));
  }
  if (bearer) {
    await deps.cors.allow(ctx, bearer.clientId);
    return bearer;
  }
  const session = await sessionCaller(deps, ctx.req, ctx.res);
  await deps.cors.allow(ctx, null);
  if (session?.kind === 'person' && session.session && ctx.method !== 'GET') {
    const sent = ctx.get('X-CSRF-Token');
    if (!sent || !safeEqual(sent, deps.csrfTokenFor(session.session.uid))) {
      throw new AppError('csrf_failed', 'A POST signed in by the portal\'s cookie needs the portal\'s CSRF token in the X-CSRF-Token header.');
    }
  }
  return session;
}

/** The same budget as /hub/*: per person and client, per service, or per address for nobody. */
export async function graphqlBudget(deps: Pick<GraphqlCallerDeps, 'limits' | 'serviceRates'>, caller: Caller | null, ip: string): Promise<Throttled> {
  let key: string;
  let perMinute: number;
  if (caller?.kind === 'person') {
    key = `${caller.user.id}|${caller.clientId ?? 'portal'}`;
    perMinute = caller.clientId ? (await deps.serviceRates.ofClient(caller.clientId)).hub : apiRateDefaults.hub;
  } else if (caller?.kind === 'service') {
    key = `service|${caller.service.id}`;
    perMinute = ratesOf(caller.service).hub;
  } else {
    key = `anonymous|${ip}`;
    perMinute = apiRateDefaults.hub;
  }
  return deps.limits.throttle('hub', key, perMinute);
}

/** The refusal of a request over its budget. */
export const overBudget = (result: Throttled) => new AppError('rate_limited', `Too many requests to /graphql: at most ${result.limit} a minute.`, { retryAfter: Math.max(1, result.reset) });

/** graphqlBudget for an HTTP request: its RateLimit headers, and a 429 over it. */
export async function throttleGraphql(deps: GraphqlCallerDeps, ctx: Context, caller: Caller | null): Promise<void> {
  const result = await graphqlBudget(deps, caller, ctx.ip);
  for (const [name, value] of rateLimitHeaders('hub', result)) ctx.set(name, value);
  if (!result.allowed) throw overBudget(result);
}
