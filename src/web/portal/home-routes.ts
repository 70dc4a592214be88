import Router from '@koa/router';
import type { AppContext } from '../http/app-context.ts';
import { activityPage } from '../../sessions/activity.ts';
import { requireAccount, type SignedInAccount } from '../http/account-session.ts';
import { render } from '../http/render.ts';
import { securitySummary } from '../../sessions/security-summary.ts';
import { servicesFor } from '../../privacy/service-access.ts';

/** /account: a greeting, the person's services as tiles, the security check-up and the latest activity. */
export function homeRoutes(hub: Pick<AppContext, 'db' | 'views'>): Router {
  const router = new Router();
  router.get('/account', requireAccount(), async (ctx) => {
    const account = ctx.state.account as SignedInAccount;
    const [services, security, activity] = await Promise.all([
      servicesFor(hub.db, account.user.id),
      securitySummary(hub.db, account.user, account.sessionUid),
      activityPage(hub.db, account.user.id, { limit: 5 }),
    ]);
    render(ctx, hub.views, 'portal/home.njk', { title: 'Your account', section: 'home', services, security, activity: activity.items });
  });
  return router;
}
