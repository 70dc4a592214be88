import type { Context, Next } from 'koa';
import { AppError } from '../errors.ts';
import type { Limits } from './rate-limits.ts';

/**
 * Device codes are short, so entering them (POST /device, the provider's own route) is a
 * credential path too: each POST reserves an attempt on the IP's counter before the provider
 * sees it, and a code the provider refuses (our device page answers 400) counts as a failure.
 */
export function deviceCodeGuard(limits: Limits) {
  return async function limitDeviceCodes(ctx: Context, next: Next) {
    if (ctx.method !== 'POST' || ctx.path !== '/device') return next();
    const attempt = await limits.check('device_code', { ip: ctx.ip });
    if (!attempt.allowed) {
      throw new AppError('rate_limited', 'Too many wrong codes from your network. Wait a few minutes, then try again.', { retryAfter: attempt.retryAfter });
    }
    await next();
    if (ctx.res.statusCode === 400) await limits.fail(attempt);
    else await limits.succeed(attempt);
  };
}
