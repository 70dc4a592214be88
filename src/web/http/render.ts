import type { Context } from 'koa';
import type { Views } from '../../platform/views.ts';
import { localeOf, timeZoneOf } from './locale.ts';

/** True for a request htmx made (it wants a fragment, not a page). */
export const isHtmx = (ctx: Context) => ctx.get('HX-Request') === 'true';

/**
 * The one way an HTML page or htmx fragment of ours is answered: the Koa routes, the error handler
 * and the provider's own pages (src/web/sign-in/device-flow-pages.ts, error-page.ts) all draw
 * through it. Every page is personal or carries an anti-CSRF token, so none is ever cached. Each
 * template also gets the signed-in account (when there is one), whether htmx asked for a fragment,
 * and the language and time zone it is drawn in (locale.ts).
 */
export function render(ctx: Context, views: Views, template: string, data: Record<string, unknown>, status = 200): void {
  ctx.status = status;
  ctx.type = 'html';
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Content-Language', localeOf(ctx));
  ctx.body = views.render(template, { account: ctx.state.account, htmxFragment: isHtmx(ctx), locale: localeOf(ctx), timeZone: timeZoneOf(ctx), ...data });
}

/**
 * After a form without JavaScript: back to the page with a short notice (post, redirect, get).
 * Notices are named by code, so nothing from the URL is ever shown as it came.
 */
export function redirectWithNotice(ctx: Context, path: string, notice: string): void {
  const url = new URL(path, 'http://x');
  url.searchParams.set('notice', notice);
  ctx.status = 303;
  ctx.redirect(url.pathname + url.search);
}

export function noticeFrom(ctx: Context, notices: Record<string, string>): string | undefined {
  const code = ctx.query.notice;
  return typeof code === 'string' ? notices[code] : undefined;
}
