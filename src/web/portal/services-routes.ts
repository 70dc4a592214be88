import Router from '@koa/router';
import type { AppContext } from '../http/app-context.ts';
import { requireAccount, type SignedInAccount } from '../http/account-session.ts';
import { pageParam, paginateArray } from '../../db/pagination.ts';
import { isHtmx, render } from '../http/render.ts';
import { servicesFor } from '../../privacy/service-access.ts';

/** /account/services: every service the person can use, its tier and expiry, and what it may see. */
export function servicesRoutes(hub: Pick<AppContext, 'db' | 'views'>): Router {
  const router = new Router();
  router.get('/account/services', requireAccount(), async (ctx) => {
    const account = ctx.state.account as SignedInAccount;
    const { items, pager } = paginateArray(await servicesFor(hub.db, account.user.id), pageParam(ctx.query.page), 12);
    const data = { title: 'Your services', section: 'services', services: items, pager };
    render(ctx, hub.views, isHtmx(ctx) ? 'partials/service-list.njk' : 'portal/services.njk', data);
  });
  return router;
}
