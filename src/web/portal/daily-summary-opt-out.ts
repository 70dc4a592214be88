import Router from '@koa/router';
import type { Context } from 'koa';
import { requestOrigin } from '../../audit/audit-log.ts';
import { optOutByToken, optOutKey, readOptOutToken } from '../../events/daily-summary.ts';
import type { AppContext } from '../http/app-context.ts';
import { render } from '../http/render.ts';

export const optOutPath = '/daily-summary/opt-out';

/**
 * The daily summary's opt-out link, which needs no sign-in: its signed token says whose summary.
 * GET asks (a mail scanner that fetches links stops nothing); POST stops it: the page's button, or
 * a mail client's one-click unsubscribe (RFC 8058, `List-Unsubscribe=One-Click`). Outside /account,
 * so no session and no CSRF token are asked for: the token in the URL is the proof.
 */
export function dailySummaryOptOutRoutes(hub: Pick<AppContext, 'db' | 'views' | 'config'>): Router {
  const router = new Router();
  const key = optOutKey(hub.config.secret);
  const tokenOf = (ctx: Context) => (typeof ctx.query.token === 'string' ? ctx.query.token : '');
  const invalid = (ctx: Context) => render(ctx, hub.views, 'portal/daily-summary-opt-out.njk', { title: 'This link is no longer valid', state: 'invalid' }, 400);

  router.get(optOutPath, (ctx) => {
    const token = tokenOf(ctx);
    if (!readOptOutToken(key, token)) return invalid(ctx);
    render(ctx, hub.views, 'portal/daily-summary-opt-out.njk', { title: 'Stop the daily summary?', state: 'ask', action: `${optOutPath}?token=${encodeURIComponent(token)}` });
  });

  router.post(optOutPath, async (ctx) => {
    const outcome = await optOutByToken(hub.db, key, tokenOf(ctx), requestOrigin(ctx));
    if (outcome === 'invalid') return invalid(ctx);
    render(ctx, hub.views, 'portal/daily-summary-opt-out.njk', { title: 'The daily summary is off', state: 'stopped' });
  });
  return router;
}
