import Router from '@koa/router';
import type { HubContext } from '../hub.ts';
import { createCsrf } from '../http/csrf.ts';
import { formBody } from '../http/body.ts';
import { entitlementQueries } from '../hub/entitlement-queries.ts';
import { accountSignInRoutes, loadAccount, requireAccount, type SignedInAccount } from './account-session.ts';
import { portalClientId } from '../oidc/provider.ts';

/**
 * The account portal's routes. Every route below sees ctx.state.account (or none), and every
 * state change passes the CSRF check. Areas add their own routers through `areas`.
 */
export function portalRoutes(hub: HubContext, areas: Array<(hub: HubContext) => Router> = []): Router {
  const router = new Router();
  const csrf = createCsrf(hub.config.secret);
  router.use(['/account', '/admin'], loadAccount(hub.holder, csrf, hub.db));
  router.use(['/account', '/admin'], formBody);
  router.use(['/account', '/admin'], csrf.verify);
  router.use(accountSignInRoutes(hub.holder, hub.config.issuer, hub.config.production).routes());

  router.get('/account/signout', (ctx) => {
    const params = new URLSearchParams({ client_id: portalClientId, post_logout_redirect_uri: `${hub.config.issuer}/` });
    ctx.redirect(`/session/end?${params}`);
  });

  router.get('/account', requireAccount(), async (ctx) => {
    const account = ctx.state.account as SignedInAccount;
    const services = await entitlementQueries.forUser(hub.db, account.user.id);
    ctx.type = 'html';
    ctx.body = hub.views.render('portal/home.njk', { title: 'Your account', account, services, section: 'home' });
  });

  for (const area of areas) router.use(area(hub).routes());
  return router;
}
