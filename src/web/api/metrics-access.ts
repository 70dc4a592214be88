import type { Context, Next } from 'koa';
import { safeEqual, sha256 } from '../../platform/crypto/tokens.ts';
import { AppError } from '../../platform/errors.ts';

/** 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6 (what a dual-stack socket reports). */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return address === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/** A proxy in front of the hub on the same machine connects from loopback for everyone: its requests are not local. */
const proxied = (ctx: Context) => Boolean(ctx.get('x-forwarded-for') || ctx.get('forwarded') || ctx.get('x-real-ip'));

/**
 * Who may read /metrics. With METRICS_TOKEN: whoever sends it as a bearer token (compared in
 * constant time, as digests of equal length). Without: only a scraper on this machine, judged by
 * the socket's address, never by a header a client could write.
 */
export function metricsAccess(token: string | null) {
  const expected = token ? sha256(token) : null;
  return async function allowMetrics(ctx: Context, next: Next) {
    if (expected) {
      const given = /^Bearer +([\x21-\x7e]+)$/i.exec(ctx.get('authorization'))?.[1];
      if (!given || !safeEqual(sha256(given), expected)) {
        ctx.set('WWW-Authenticate', given ? 'Bearer realm="metrics", error="invalid_token"' : 'Bearer realm="metrics"');
        throw new AppError('unauthorized', 'Send the metrics token: Authorization: Bearer <METRICS_TOKEN>.');
      }
    } else if (!isLoopback(ctx.req.socket.remoteAddress) || proxied(ctx)) {
      throw new AppError('forbidden', 'Metrics are served to this machine only. Set METRICS_TOKEN to read them from elsewhere.');
    }
    await next();
  };
}
