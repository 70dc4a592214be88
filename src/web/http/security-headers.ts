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

/** The headers every answer carries besides its request id; the CSP allows no inline script (the provider's form_post adds its script's hash). */
export function securityHeaderList(production: boolean): Array<[string, string]> {
  return [
    ['X-Content-Type-Options', 'nosniff'],
    ['Referrer-Policy', 'no-referrer'],
    ['X-Frame-Options', 'DENY'],
    ['Cross-Origin-Opener-Policy', 'same-origin'],
    ...(production ? [['Strict-Transport-Security', 'max-age=31536000; includeSubDomains'] as [string, string]] : []),
    // Set before the provider runs too: it adds the hash of its form_post script to this header.
    ['Content-Security-Policy', contentSecurityPolicy],
  ];
}

/** The caller's X-Request-Id when it looks like one (a proxy's), else a new one. */
export const requestIdFrom = (incoming: string | undefined): string => (incoming && /^[\w.-]{8,64}$/.test(incoming) ? incoming : randomUUID());

/** The JSON APIs answer about one person or one service: no shared cache may keep an answer (a route may say otherwise). */
const personalApi = /^\/(hub|api|graphql)(\/|$)/;

export function securityHeaders({ production }: { production: boolean }) {
  const headers = securityHeaderList(production);
  return async function setSecurityHeaders(ctx: Context, next: Next) {
    ctx.state.requestId = requestIdFrom(ctx.get('X-Request-Id'));
    ctx.set('X-Request-Id', ctx.state.requestId);
    for (const [name, value] of headers) ctx.set(name, value);
    if (personalApi.test(ctx.path)) ctx.set('Cache-Control', 'no-store');
    await next();
  };
}
