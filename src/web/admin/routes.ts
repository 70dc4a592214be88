import Router from '@koa/router';
import type { AppContext } from '../http/app-context.ts';
import { requireAccount } from '../http/account-session.ts';
import { render } from '../http/render.ts';
import { auditRoutes } from './audit-routes.ts';
import { keysRoutes } from './keys-routes.ts';
import { adminMaxAgeSeconds, requireSecondFactor } from '../http/admin-access.ts';
import { servicesAdminRoutes } from './services-routes.ts';
import { systemRoutes } from './system-routes.ts';
import { sessionQueries } from '../../queries/oidc-models.ts';
import { serviceQueries } from '../../queries/services.ts';
import { userQueries } from '../../queries/users.ts';
import { usersAdminRoutes } from './users-routes.ts';

/** /admin: the admin console (services, users, audit log, keys, system). */
export function adminRoutes(hub: Pick<AppContext, 'config' | 'db' | 'holder' | 'secrets' | 'views'>): Router {
  const router = new Router();
  router.use('/admin', requireAccount({ admin: true, maxAgeSeconds: adminMaxAgeSeconds }), requireSecondFactor(hub.db));

  router.get('/admin', async (ctx) => {
    const [users, services, sessions] = await Promise.all([
      userQueries.counts(hub.db),
      serviceQueries.listWithClientCounts(hub.db),
      sessionQueries.countLive(hub.db),
    ]);
    render(ctx, hub.views, 'admin/home.njk', {
      title: 'Admin console',
      section: 'admin',
      area: 'home',
      users,
      services: { total: services.length, suspended: services.filter((s: { status: string }) => s.status !== 'active').length },
      sessions: Number(sessions?.n ?? 0),
    });
  });

  for (const area of [servicesAdminRoutes, usersAdminRoutes, auditRoutes, keysRoutes, systemRoutes]) router.use(area(hub).routes());
  return router;
}
