import { createHmac } from 'node:crypto';
import type { Context, Next } from 'koa';
import { AppError } from '../../platform/errors.ts';
import { safeEqual } from '../../platform/crypto/tokens.ts';
import { deriveKey } from '../../platform/crypto/secret-box.ts';

/**
 * Synchroniser tokens bound to the browser session: HMAC(secret, session uid). Forms carry it as
 * `_csrf`; htmx sends it as the X-CSRF-Token header (set once on <body hx-headers>).
 */
export function createCsrf(secret: string) {
  const key = deriveKey(secret, 'csrf');
  const tokenFor = (sessionUid: string) => createHmac('sha256', key).update(sessionUid).digest('base64url');
  return {
    tokenFor,
    /** Refuses state changes without the right token; reads need none. */
    verify(ctx: Context, next: Next) {
      if (['GET', 'HEAD', 'OPTIONS'].includes(ctx.method)) return next();
      const uid = (ctx.state.account as { sessionUid?: string } | undefined)?.sessionUid;
      const body = ctx.request.body as Record<string, unknown> | undefined;
      const sent = ctx.get('X-CSRF-Token') || (typeof body?._csrf === 'string' ? body._csrf : '');
      if (!uid || !sent || !safeEqual(sent, tokenFor(uid))) {
        throw new AppError('csrf_failed', 'This form has expired or did not come from this site. Reload the page and try again.');
      }
      return next();
    },
  };
}

export type Csrf = ReturnType<typeof createCsrf>;
