import Router from '@koa/router';
import type { AppContext } from '../http/app-context.ts';
import { activityPage, activityServices } from '../../sessions/activity.ts';
import { requireAccount, type SignedInAccount } from '../http/account-session.ts';
import { isHtmx, render } from '../http/render.ts';
import { localeOf, timeZoneOf } from '../http/locale.ts';

/** /account/activity: what happened across the person's services, newest first, by day, per service. */
export function activityRoutes(hub: Pick<AppContext, 'db' | 'views'>): Router {
  const router = new Router();
  router.get('/account/activity', requireAccount(), async (ctx) => {
    const account = ctx.state.account as SignedInAccount;
    const service = typeof ctx.query.service === 'string' && /^[a-z][a-z0-9-]{0,39}$/.test(ctx.query.service) ? ctx.query.service : undefined;
    const beforeParam = Number(ctx.query.before);
    const before = Number.isSafeInteger(beforeParam) && beforeParam > 0 ? beforeParam : undefined;
    const [page, services] = await Promise.all([activityPage(hub.db, account.user.id, { before, service, locale: localeOf(ctx), timeZone: timeZoneOf(ctx) }), activityServices(hub.db, account.user.id)]);
    const olderUrl = page.next ? `/account/activity?${new URLSearchParams({ ...(service ? { service } : {}), before: String(page.next) })}` : null;
    const data = { title: 'Activity', section: 'activity', days: page.days, services, service, olderUrl, continued: before !== undefined };
    render(ctx, hub.views, isHtmx(ctx) ? 'partials/activity-list.njk' : 'portal/activity.njk', data);
  });
  return router;
}
