import { randomUUID } from 'node:crypto';
import type { Context, Next } from 'koa';

const contentSecurityPolicy = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "object-src 'none'",
].join('; ');

/** Request id and the headers every answer carries; the CSP allows no inline script (the provider's form_post adds its script's hash). */
export function securityHeaders({ production }: { production: boolean }) {
  return async function setSecurityHeaders(ctx: Context, next: Next) {
    const incoming = ctx.get('X-Request-Id');
    ctx.state.requestId = /^[\w.-]{8,64}$/.test(incoming) ? incoming : randomUUID();
    ctx.set('X-Request-Id', ctx.state.requestId);
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('Cross-Origin-Opener-Policy', 'same-origin');
    if (production) ctx.set('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
    // Set before the provider runs too: it adds the hash of its form_post script to this header.
    ctx.set('Content-Security-Policy', contentSecurityPolicy);
    await next();
  };
}
