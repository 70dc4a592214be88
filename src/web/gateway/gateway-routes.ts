import Router from '@koa/router';
import type { Context } from 'koa';
import { callerResponseHeaders } from '../../platform/gateway/upstream-headers.ts';
import { AppError } from '../../platform/errors.ts';
import { rateLimitHeaders } from '../../platform/rate-limits.ts';
import type { ServiceGateway } from '../http/service-gateway.ts';
import { gatewayCaller, type GatewayCallerDeps } from './gateway-caller.ts';

export const gatewayPath = '/gateway/:slug{/*path}';
export const gatewayMethods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

export interface GatewayDeps extends GatewayCallerDeps {
  gateway: ServiceGateway;
}

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

  async function forward(ctx: Context): Promise<void> {
    const slug = String(ctx.params.slug ?? '');
    const { answer } = await deps.gateway.send({
      service: slug,
      caller: () => gatewayCaller(deps, ctx),
      method: ctx.method,
      path: upstreamPath(ctx.path) + (ctx.querystring ? `?${ctx.querystring}` : ''),
      headers: ctx.req.headers,
      body: hasBody(ctx) ? ctx.req : null,
      via: { ip: ctx.ip, host: ctx.host, proto: ctx.protocol, requestId: String(ctx.state.requestId ?? '') },
      onBudget: (budget) => {
        for (const [name, value] of rateLimitHeaders('hub', budget)) ctx.set(name, value);
      },
    });
    const status = answer.statusCode ?? 502;
    ctx.status = status;
    // Personal unless the service says otherwise; and whatever it sends runs sandboxed: the answer comes from the hub's origin, where the portal lives.
    ctx.set('Cache-Control', 'no-store');
    for (const [name, value] of callerResponseHeaders(answer.headers)) ctx.set(name, value);
    ctx.set('Content-Security-Policy', gatewayContentSecurityPolicy);
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.body = answer;
    // No body follows (Koa sends none for these): read the answer to its end so its connection is free again.
    if (ctx.method === 'HEAD' || status === 204 || status === 304) answer.resume();
  }

  // The methods an API uses; not CONNECT or TRACE, which no service behind the gateway should see.
  router.register(gatewayPath, gatewayMethods, forward);
  return router;
}
