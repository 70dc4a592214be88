import { createHash } from 'node:crypto';
import type Provider from 'oidc-provider';

const cacheable = new Set(['/.well-known/openid-configuration', '/jwks']);

/**
 * Discovery and JWKS change only when the provider is rebuilt (new keys), yet the provider
 * recomputes them per request. This serves each as a pre-serialised body with an ETag, filled
 * from the provider's own first answer, and answers If-None-Match with 304.
 */
export function installMetadataCache(provider: Provider): void {
  const cache = new Map<string, { body: string; etag: string; type: string }>();
  provider.use(async (ctx, next) => {
    if ((ctx.method !== 'GET' && ctx.method !== 'HEAD') || !cacheable.has(ctx.path)) return next();
    const hit = cache.get(ctx.path);
    if (hit) {
      ctx.set('Access-Control-Allow-Origin', '*');
      ctx.set('Cache-Control', 'public, max-age=60');
      ctx.set('ETag', hit.etag);
      if (ctx.get('If-None-Match') === hit.etag) {
        ctx.status = 304;
        return;
      }
      ctx.type = hit.type;
      ctx.body = hit.body;
      return;
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
