import Router from '@koa/router';
import type { AppContext } from '../http/app-context.ts';
import { createCsrf } from '../http/csrf.ts';
import { formBody } from '../http/body.ts';
import { accountSignInRoutes, loadAccount } from '../http/account-session.ts';
import { accountDeletedRoutes } from './account-deleted.ts';
import { activityRoutes } from './activity-routes.ts';
import { dailySummaryOptOutRoutes } from './daily-summary-opt-out.ts';
import { emailChangeRoutes } from './email-change-routes.ts';
import { homeRoutes } from './home-routes.ts';
import { preferencesRoutes } from './preferences-routes.ts';
import { privacyRoutes } from './privacy-routes.ts';
import { recordAuthorizationSightings, recordPortalSighting } from '../http/session-sightings.ts';
import { servicesRoutes } from './services-routes.ts';
import { notificationsRoutes } from './notifications-routes.ts';
import { sessionsRoutes } from './sessions-routes.ts';
import { portalClientId } from '../../catalog/clients.ts';

/** The portal's own sections; other areas (security, devices, the admin console) come in through `areas`. */
const portalAreas: Array<(hub: AppContext) => Router> = [homeRoutes, preferencesRoutes, servicesRoutes, sessionsRoutes, privacyRoutes, activityRoutes, notificationsRoutes];

/**
 * The account portal's routes. Every route below sees ctx.state.account (or none), and every
 * state change passes the CSRF check. Areas add their own routers through `areas`.
 */
export function portalRoutes(hub: AppContext, areas: Array<(hub: AppContext) => Router> = []): Router {
  const router = new Router();
  const csrf = createCsrf(hub.config.secret);
  recordAuthorizationSightings(hub.holder, hub.db, hub.logger);
  router.use(['/account', '/admin'], loadAccount(hub.holder, csrf, hub.db, { secureCookies: hub.config.secureCookies }));
  router.use(['/account', '/admin'], recordPortalSighting(hub.db, hub.logger));
  router.use(['/account', '/admin'], formBody);
  router.use(['/account', '/admin'], csrf.verify);
  router.use(accountSignInRoutes(hub.holder, hub.config.issuer, hub.config.secureCookies).routes());
  router.use(accountDeletedRoutes(hub.views).routes());
  router.use(dailySummaryOptOutRoutes(hub).routes());

  router.get('/account/signout', (ctx) => {
    const params = new URLSearchParams({ client_id: portalClientId, post_logout_redirect_uri: `${hub.config.issuer}/` });
    ctx.redirect(`/session/end?${params}`);
  });

  for (const area of [...portalAreas, ...areas]) router.use(area(hub).routes());
  router.use(emailChangeRoutes(hub).routes());
  return router;
}
