import type { Context, Next } from 'koa';
import { AppError } from '../../platform/errors.ts';
import { ratesOf, type ServiceRateLimits } from '../../catalog/service-rate-limits.ts';
import { apiRateDefaults, rateLimitHeaders, type ApiRateScope, type Limits } from '../../platform/rate-limits.ts';
import type { PersonCaller, ServiceCaller } from './auth.ts';

export interface RateLimitDeps {
  limits: Limits;
  serviceRates: ServiceRateLimits;
}

async function throttle(ctx: Context, limits: Limits, scope: ApiRateScope, key: string, perMinute: number, message: string): Promise<void> {
  const result = await limits.throttle(scope, key, perMinute);
  for (const [name, value] of rateLimitHeaders(scope, result)) ctx.set(name, value);
  if (!result.allowed) throw new AppError('rate_limited', `${message}: at most ${result.limit} a minute.`, { retryAfter: Math.max(1, result.reset) });
}

/** /hub/* per person and client (the client's service's `hub_rate_limit`; the portal's own reads: the default). Runs after personApi. */
export function hubRateLimit({ limits, serviceRates }: RateLimitDeps) {
  return async function limitPerson(ctx: Context, next: Next) {
    const { user, clientId } = ctx.state.caller as PersonCaller;
    const perMinute = clientId ? (await serviceRates.ofClient(clientId)).hub : apiRateDefaults.hub;
    await throttle(ctx, limits, 'hub', `${user.id}|${clientId ?? 'portal'}`, perMinute, 'Too many requests from this app for this account');
    await next();
  };
}

/** POST /api/v1/events per service (its `events_rate_limit`). Runs after serviceApi. */
export function eventsRateLimit({ limits }: RateLimitDeps) {
  return async function limitService(ctx: Context, next: Next) {
    const { service } = ctx.state.caller as ServiceCaller;
    await throttle(ctx, limits, 'events', service.id, ratesOf(service).events, 'Too many events from this service');
    await next();
  };
}
