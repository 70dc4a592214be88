import path from 'node:path';
import Koa from 'koa';
import Router from '@koa/router';
import mount from 'koa-mount';
import serve from 'koa-static';
import type Provider from 'oidc-provider';
import { projectRoot } from '../platform/views.ts';
import type { AppContext } from '../web/http/app-context.ts';
import { errorHandler } from '../web/http/error-handler.ts';
import { healthRoutes } from '../web/http/health.ts';
import { securityHeaders } from '../web/http/security-headers.ts';
import { labelKoaRequest } from '../web/http/request-metrics.ts';
import { nameRequestSpan } from '../web/http/request-spans.ts';
import { tracingActive } from '../platform/spans.ts';
import { adminRoutes } from '../web/admin/routes.ts';
import { appPasswordApiRoutes } from '../web/api/app-passwords-routes.ts';
import { apiRoutes } from '../web/api/routes.ts';
import { hubCors } from '../web/api/hub-cors.ts';
import { DeviceSightings } from '../devices/device-sightings.ts';
import { liveRoutes } from '../web/live/live-routes.ts';
import { graphqlRoutes } from '../web/graphql/routes.ts';
import { graphSourceApiRoutes } from '../web/api/graph-source-routes.ts';
import { hubSchema } from '../web/graphql/schema.ts';
import { gatewayRoutes } from '../web/gateway/gateway-routes.ts';
import { accessOf } from '../web/live/live-access.ts';
import { createCsrf } from '../web/http/csrf.ts';
import { mailboxRoutes } from '../web/mailbox/mailbox-routes.ts';
import { devicesRoutes } from '../web/portal/devices-routes.ts';
import { portalRoutes } from '../web/portal/routes.ts';
import { securityRoutes } from '../web/portal/security-routes.ts';
import { emailRoutes } from '../web/sign-in/email-routes.ts';
import { interactionRoutes } from '../web/sign-in/interactions.ts';
import { passkeySignInRoutes } from '../web/sign-in/passkey-sign-in-routes.ts';
import { secondFactorRoutes } from '../web/sign-in/second-factor-routes.ts';
import { signupRoutes } from '../web/sign-in/signup-routes.ts';

/** The hub's own routes (its Koa routers), as registered; the provider's are in its discovery document. */
export type HubRoutes = Array<{ methods: string[]; path: string }>;

const providerHandlers = new WeakMap<Provider, ReturnType<Provider['callback']>>();
/** The provider's own request handler (one per provider: a key change builds a new provider). */
export function handlerFor(provider: Provider) {
  let handler = providerHandlers.get(provider);
  if (!handler) providerHandlers.set(provider, (handler = provider.callback()));
  return handler;
}

/** The Koa application: middleware in order, then every router, then the provider for the rest. */
export function buildApp(hub: AppContext): { app: Koa; routes: HubRoutes } {
  // maxIpsCount 1: with a trusted proxy, ctx.ip is the address that proxy saw, not one the client wrote into X-Forwarded-For.
  const app = new Koa({ proxy: hub.config.trustProxy, maxIpsCount: 1 });
  app.silent = true;

  app.use(labelKoaRequest);
  if (tracingActive()) app.use(nameRequestSpan);
  app.use(securityHeaders({ production: hub.config.production }));
  app.use(errorHandler(hub.views, hub.logger));
  app.use(mount('/static', serve(path.join(projectRoot, 'public'), { maxage: hub.config.production ? 86_400_000 : 0 })));
  app.use(mount('/static/vendor/htmx', serve(path.join(projectRoot, 'node_modules/htmx.org/dist'))));
  app.use(mount('/static/vendor/webauthn', serve(path.join(projectRoot, 'node_modules/@simplewebauthn/browser/dist/bundle'))));

  const cors = hubCors(hub.db, hub.config.issuer);
  app.use((ctx, next) => cors.middleware(ctx, next));

  const router = new Router();
  router.use(healthRoutes(hub).routes());
  router.use(interactionRoutes(hub).routes(), passkeySignInRoutes(hub).routes(), secondFactorRoutes(hub).routes());
  router.use(signupRoutes(hub).routes());
  router.use(emailRoutes(hub).routes());
  router.use(mailboxRoutes(hub).routes());
  router.use(portalRoutes(hub, [securityRoutes, devicesRoutes, adminRoutes]).routes());
  const apiDeps = { db: hub.db, verifier: hub.hubTokens, holder: hub.holder, issuer: hub.config.issuer, metrics: hub.metrics, metricsText: hub.metricsText, metricsToken: hub.config.metricsToken, events: hub.events, logger: hub.logger, limits: hub.limits, serviceRates: hub.serviceRates, cors, sightings: new DeviceSightings(hub.db) };
  router.use(apiRoutes(apiDeps).routes());
  router.use(appPasswordApiRoutes(hub).routes());
  router.use(liveRoutes(apiDeps).routes());
  const csrfTokenFor = createCsrf(hub.config.secret).tokenFor;
  router.use(graphqlRoutes({ ...apiDeps, csrfTokenFor, graphs: hub.graphs, production: hub.config.production, liveAccess: (caller) => accessOf(apiDeps, caller, false) }).routes());
  router.use(gatewayRoutes({ ...apiDeps, csrfTokenFor, gateway: hub.gateway }).routes());
  router.use(graphSourceApiRoutes({ ...apiDeps, hubSchema, graphs: hub.graphs }).routes());
  router.get('/', (ctx) => ctx.redirect('/account'));
  app.use(router.routes());
  app.use(router.allowedMethods());

  // Everything else is the OpenID Connect provider's (discovery, /auth, /token, /jwks, /me, …).
  app.use(async (ctx) => {
    ctx.respond = false;
    await handlerFor(hub.holder.current)(ctx.req, ctx.res);
  });
  const routes = router.stack.filter((layer) => layer.methods.length > 0).map((layer) => ({ methods: [...layer.methods], path: String(layer.path) }));
  return { app, routes };
}
