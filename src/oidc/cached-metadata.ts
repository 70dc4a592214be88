import { createHash } from 'node:crypto';
import type http from 'node:http';
import type Provider from 'oidc-provider';

const cacheable = new Set(['/.well-known/openid-configuration', '/jwks']);

export interface Cached {
  body: string;
  etag: string;
  type: string;
}

/** Each provider's cache, so the outer app can answer from it without a module-wide store. */
const caches = new WeakMap<Provider, Map<string, Cached>>();

const isCacheable = (method: string | undefined, path: string) => (method === 'GET' || method === 'HEAD') && cacheable.has(path);

/**
 * Discovery and JWKS change only when the provider is rebuilt (new keys), yet the provider
 * recomputes them per request. This serves each as a pre-serialised body with an ETag, filled
 * from the provider's own first answer, and answers If-None-Match with 304.
 */
export function installMetadataCache(provider: Provider): void {
  const cache = new Map<string, Cached>();
  caches.set(provider, cache);
  provider.use(async (ctx, next) => {
    if (!isCacheable(ctx.method, ctx.path)) return next();
    const hit = cache.get(ctx.path);
    if (hit) {
      ctx.respond = false;
      return sendCachedMetadata(ctx.req, ctx.res, hit);
    }
    await next();
    if (ctx.status === 200 && ctx.body && typeof ctx.body === 'object') {
      const body = JSON.stringify(ctx.body);
      const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
      const type = ctx.response.get('Content-Type') || 'application/json; charset=utf-8';
      cache.set(ctx.path, { body, etag, type });
      ctx.body = body;
      ctx.type = type;
      ctx.set('ETag', etag);
      ctx.set('Cache-Control', 'public, max-age=60');
    }
  });
}

/**
 * The cached answer for a request, if there is one yet: discovery and JWKS, with GET or HEAD, once
 * the current provider has answered them once. For the provider lane (src/web/http/provider-lane.ts),
 * which sends it past both Koa apps: their contexts and middleware cost more than the cached
 * answer itself (bench: JWKS took as much CPU per request as the bare provider's uncached one).
 */
export function cachedMetadataFor(holder: { current: Provider }) {
  return (method: string | undefined, path: string): Cached | undefined =>
    isCacheable(method, path) ? caches.get(holder.current)?.get(path) : undefined;
}

/** Sends a cached answer on the bare response, or 304 when the client has it already. */
export function sendCachedMetadata(req: http.IncomingMessage, res: http.ServerResponse, hit: Cached): void {
  // Koa starts every response at 404; the lane's are fresh (200).
  res.statusCode = 200;
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('Cache-Control', 'public, max-age=60');
  res.setHeader('ETag', hit.etag);
  if (req.headers['if-none-match'] === hit.etag) {
    res.statusCode = 304;
    res.end();
    return;
  }
  res.setHeader('Content-Type', hit.type);
  res.setHeader('Content-Length', Buffer.byteLength(hit.body));
  res.end(req.method === 'HEAD' ? undefined : hit.body);
}
