import { createHash } from 'node:crypto';
import type { Context, Middleware } from 'koa';
import type Provider from 'oidc-provider';

const cacheable = new Set(['/.well-known/openid-configuration', '/jwks']);

interface Cached {
  body: string;
  etag: string;
  type: string;
}

/** Each provider's cache, so the outer app can answer from it without a module-wide store. */
const caches = new WeakMap<Provider, Map<string, Cached>>();

const isCacheable = (ctx: Context) => (ctx.method === 'GET' || ctx.method === 'HEAD') && cacheable.has(ctx.path);

function answer(ctx: Context, hit: Cached): void {
  ctx.set('Access-Control-Allow-Origin', '*');
  ctx.set('Cache-Control', 'public, max-age=60');
  ctx.set('ETag', hit.etag);
  if (ctx.get('If-None-Match') === hit.etag) {
    ctx.status = 304;
    return;
  }
  ctx.type = hit.type;
  ctx.body = hit.body;
}

/**
 * Discovery and JWKS change only when the provider is rebuilt (new keys), yet the provider
 * recomputes them per request. This serves each as a pre-serialised body with an ETag, filled
 * from the provider's own first answer, and answers If-None-Match with 304.
 */
export function installMetadataCache(provider: Provider): void {
  const cache = new Map<string, Cached>();
  caches.set(provider, cache);
  provider.use(async (ctx, next) => {
    if (!isCacheable(ctx)) return next();
    const hit = cache.get(ctx.path);
    if (hit) return answer(ctx, hit);
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
 * The same answers, given by the outer app before its routers and the provider's own Koa app
 * run: those cost more than the cached answer itself (bench: JWKS took as much CPU per request
 * as the bare provider's uncached one). Until the current provider has answered once, passes on.
 */
export function serveCachedMetadata(holder: { current: Provider }): Middleware {
  return async function cachedMetadata(ctx, next) {
    const hit = isCacheable(ctx) ? caches.get(holder.current)?.get(ctx.path) : undefined;
    if (hit) return answer(ctx, hit);
    await next();
  };
}
