import Router from '@koa/router';
import type { Context } from 'koa';
import { ratesOf } from '../../catalog/service-rate-limits.ts';
import { portalClientId } from '../../catalog/clients.ts';
import { CircuitBreakers } from '../../platform/gateway/circuit-breaker.ts';
import { callerResponseHeaders, upstreamRequestHeaders } from '../../platform/gateway/upstream-headers.ts';
import { callUpstream, UpstreamFailure } from '../../platform/gateway/upstream-request.ts';
import type { ProviderHolder } from '../../oidc/provider-holder.ts';
import { exchangeForService, ExchangeRefused, gatewayActor } from '../../oidc/token-exchange.ts';
import type { GatewayConfig } from '../../platform/config.ts';
import { AppError } from '../../platform/errors.ts';
import type { HubMetrics } from '../../platform/hub-metrics.ts';
import { rateLimitHeaders, type Limits } from '../../platform/rate-limits.ts';
import { serviceQueries, type ServiceRow } from '../../queries/services.ts';
import { gatewayCaller, type GatewayCallerDeps, type PersonCaller } from './gateway-caller.ts';

export const gatewayPath = '/gateway/:slug{/*path}';
export const gatewayMethods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

export interface GatewayDeps extends GatewayCallerDeps {
  holder: ProviderHolder;
  limits: Pick<Limits, 'throttle'>;
  gateway: GatewayConfig;
  hubMetrics: Pick<HubMetrics, 'gatewayRequests'>;
}

type Outcome = 'ok' | 'upstream_error' | 'unreachable' | 'timeout' | 'circuit_open' | 'too_large' | 'rate_limited' | 'refused';

const slugPattern = /^[a-z][a-z0-9-]{1,39}$/;

/** A service's answer is shown as an opaque origin with nothing to load: no script of it can reach the portal beside it. */
const gatewayContentSecurityPolicy = "sandbox; default-src 'none'; frame-ancestors 'none'";

/** The service's path after /gateway/<slug>, as sent (not decoded); refused when a segment would climb out of the upstream's base path. */
function upstreamPath(rawPath: string): string {
  const rest = /^\/gateway\/[^/]+(\/.*)?$/i.exec(rawPath)?.[1] ?? '/';
  for (const segment of rest.split('/')) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      throw new AppError('bad_request', 'The path has a malformed percent-encoding.');
    }
    if (decoded === '.' || decoded === '..' || decoded.includes('/') || decoded.includes('\\')) throw new AppError('bad_request', 'The path may not have "." or ".." segments or encoded slashes.');
  }
  return rest;
}

function upstreamUrl(service: ServiceRow & { upstream_url: string }, ctx: Context): URL {
  const url = new URL(service.upstream_url);
  url.pathname = url.pathname.replace(/\/+$/, '') + upstreamPath(ctx.path);
  url.search = ctx.querystring ? `?${ctx.querystring}` : '';
  return url;
}

const hasBody = (ctx: Context) => ctx.get('Transfer-Encoding') !== '' || Number(ctx.get('Content-Length') || 0) > 0;

/**
 * /gateway/<slug>/<path>: forwards a person's request to the service's upstream URL with a token
 * made for that service (token exchange, `act` naming the gateway) in place of the caller's
 * credentials. The caller is a person's hub token (scope hub) or the portal session (with the
 * CSRF rules of /graphql). Bodies stream both ways; cookies and hop-by-hop headers stay behind;
 * Forwarded and X-Request-Id are added. Timeouts, a body limit, a circuit per service and the
 * service's hub budget per person apply; an upstream failure is a 502/504/503 problem, never a 500.
 */
export function gatewayRoutes(deps: GatewayDeps): Router {
  const router = new Router();
  const circuits = new CircuitBreakers(deps.gateway.circuitFailures, deps.gateway.circuitOpenMs);
  const limits = { connectTimeoutMs: deps.gateway.connectTimeoutMs, timeoutMs: deps.gateway.timeoutMs, bodyLimitBytes: deps.gateway.bodyLimitBytes };

  async function serviceFor(ctx: Context): Promise<ServiceRow & { upstream_url: string }> {
    const slug = String(ctx.params.slug ?? '');
    const service = slugPattern.test(slug) ? await serviceQueries.bySlug(deps.db, slug) : undefined;
    if (!service || service.status !== 'active' || !service.upstream_url) throw new AppError('not_found', `No active service "${slug.slice(0, 40)}" is behind the gateway.`);
    return service as ServiceRow & { upstream_url: string };
  }

  /** A token for the person at the service, `act` naming the gateway; refused (a disabled account, a gone client): 403. */
  async function tokenFor(caller: PersonCaller, service: ServiceRow): Promise<string> {
    try {
      const token = await exchangeForService(deps.holder.current, deps.db, {
        accountId: caller.user.id,
        clientId: caller.clientId ?? portalClientId,
        target: service,
        actor: { sub: gatewayActor(deps.issuer) },
        ...(caller.claims?.grantRef ? { grantRef: caller.claims.grantRef } : {}),
      });
      return token.accessToken;
    } catch (error) {
      if (error instanceof ExchangeRefused) throw new AppError('forbidden', `No token for ${service.slug}: ${error.message}.`);
      throw error;
    }
  }

  async function forward(ctx: Context): Promise<void> {
    const started = process.hrtime.bigint();
    let outcome: Outcome = 'refused';
    let slug = 'unknown';
    const observe = () => deps.hubMetrics.gatewayRequests.observe({ service: slug, outcome }, Number(process.hrtime.bigint() - started) / 1e9);
    try {
      const service = await serviceFor(ctx);
      slug = service.slug;
      const caller = await gatewayCaller(deps, ctx);
      const target = upstreamUrl(service, ctx);

      const budget = await deps.limits.throttle('hub', `gateway|${service.id}|${caller.user.id}`, ratesOf(service).hub);
      for (const [name, value] of rateLimitHeaders('hub', budget)) ctx.set(name, value);
      if (!budget.allowed) {
        outcome = 'rate_limited';
        throw new AppError('rate_limited', `Too many requests to ${service.slug} through the gateway: at most ${budget.limit} a minute.`, { retryAfter: Math.max(1, budget.reset) });
      }
      if (Number(ctx.get('Content-Length') || 0) > limits.bodyLimitBytes) {
        outcome = 'too_large';
        throw new AppError('payload_too_large', `Send at most ${Math.floor(limits.bodyLimitBytes / 1024)} KiB through the gateway.`);
      }
      const admission = circuits.admit(service.id);
      if (!admission.allowed) {
        outcome = 'circuit_open';
        throw new AppError('busy', `${service.name} is failing: the gateway stopped calling it for a while. Try again in ${admission.retryAfterSeconds} s.`, { retryAfter: admission.retryAfterSeconds });
      }

      // The circuit hears a verdict on the upstream (or that there was none) whatever happens below: a probe never stays taken.
      let verdict: 'succeeded' | 'failed' | 'released' = 'released';
      try {
        const token = await tokenFor(caller, service);
        let answer;
        try {
          answer = await callUpstream(
            {
              url: target,
              method: ctx.method,
              headers: upstreamRequestHeaders(ctx.req.headers, token, target.host, { ip: ctx.ip, host: ctx.host, proto: ctx.protocol, requestId: String(ctx.state.requestId ?? '') }),
              body: hasBody(ctx) ? ctx.req : null,
            },
            limits,
          );
        } catch (error) {
          if (!(error instanceof UpstreamFailure)) throw error;
          if (error.kind === 'too_large') {
            outcome = 'too_large';
            throw new AppError('payload_too_large', `Send at most ${Math.floor(limits.bodyLimitBytes / 1024)} KiB through the gateway.`);
          }
          if (error.kind === 'invalid_request') throw new AppError('bad_request', 'The request cannot be forwarded: a header or the method is not valid HTTP.');
          if (ctx.req.readableAborted) throw new AppError('bad_request', 'The request body ended early.');
          verdict = 'failed';
          outcome = error.kind;
          throw error.kind === 'timeout' ? new AppError('gateway_timeout', `${service.name} did not answer in time.`, { cause: error }) : new AppError('bad_gateway', `${service.name} could not be reached.`, { cause: error });
        }
        const status = answer.statusCode ?? 502;
        verdict = status >= 500 ? 'failed' : 'succeeded';
        outcome = status >= 500 ? 'upstream_error' : 'ok';
        ctx.status = status;
        // Personal unless the service says otherwise; and whatever it sends runs sandboxed: the answer comes from the hub's origin, where the portal lives.
        ctx.set('Cache-Control', 'no-store');
        for (const [name, value] of callerResponseHeaders(answer.headers)) ctx.set(name, value);
        ctx.set('Content-Security-Policy', gatewayContentSecurityPolicy);
        ctx.set('X-Content-Type-Options', 'nosniff');
        ctx.body = answer;
        // No body follows (Koa sends none for these): read the answer to its end so its connection is free again.
        if (ctx.method === 'HEAD' || status === 204 || status === 304) answer.resume();
      } finally {
        circuits[verdict](service.id);
      }
    } finally {
      observe();
    }
  }

  // The methods an API uses; not CONNECT or TRACE, which no service behind the gateway should see.
  router.register(gatewayPath, gatewayMethods, forward);
  return router;
}
