import Router from '@koa/router';
import type { Context } from 'koa';
import type { AppContext } from '../http/app-context.ts';
import { requestOrigin } from '../../audit/audit-log.ts';
import { createClient, updateRedirectUris, type ClientMetadataValidator } from '../../catalog/clients.ts';
import { clientQueries } from '../../queries/clients.ts';
import { entitlementQueries } from '../../queries/entitlements.ts';
import { serviceQueries } from '../../queries/services.ts';
import { createService, requireService, setServiceHealthUrl } from '../../catalog/services.ts';
import { ratesOf, setServiceRateLimits } from '../../catalog/service-rate-limits.ts';
import { apiRateDefaults } from '../../platform/rate-limits.ts';
import type { SignedInAccount } from '../http/account-session.ts';
import { pageParam, paginate } from '../../db/pagination.ts';
import { handleForm } from '../http/form-errors.ts';
import { isHtmx, noticeFrom, redirectWithNotice, render } from '../http/render.ts';
import { t } from '../../platform/i18n.ts';
import { localeOf } from '../http/locale.ts';
import { setServiceStatus } from '../../catalog/service-status.ts';
import { allowExchange, denyExchange, exchangePairsOf, setUpstream } from '../../catalog/service-exchange.ts';

const notices = {
  registered: 'The service is registered. Add a client so it can sign people in.',
  suspended: 'The service is suspended: its clients cannot sign anyone in. Activate it to undo.',
  activated: 'The service is active again.',
  'uris-saved': 'Redirect URIs saved.',
  'limits-saved': 'Rate limits saved: every hub instance applies them within 30 seconds.',
  'upstream-saved': 'Upstream URL saved: the gateway uses it from the next request.',
  'exchange-allowed': 'Token exchange allowed.',
  'exchange-denied': 'Token exchange stopped. Tokens exchanged before stay valid until they expire.',
  'health-url-saved': 'Health URL saved: the hub asks it within seconds.',
};
const lines = (value: unknown) => (typeof value === 'string' ? value.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean) : []);
const text = (value: unknown) => (typeof value === 'string' ? value : '');

/** /admin/services: register services and their clients, see their status, edit redirect URIs. */
export function servicesAdminRoutes(hub: Pick<AppContext, 'db' | 'holder' | 'secrets' | 'views' | 'config'>): Router {
  const router = new Router();
  const validate: ClientMetadataValidator = async (m) => {
    await (hub.holder.current.Client as unknown as { validate(m: unknown): Promise<void> }).validate(m);
  };
  const origin = (ctx: Context) => ({ ...requestOrigin(ctx), actorId: (ctx.state.account as SignedInAccount).user.id });

  const listPage = async (ctx: Context, form: Record<string, unknown> = {}, errors: { message?: string; fields?: Record<string, string> } = {}, status = 200) => {
    const { items, pager } = await paginate(serviceQueries.listWithClientCounts(hub.db), pageParam(ctx.query.page), 20);
    render(ctx, hub.views, isHtmx(ctx) && !Object.keys(form).length ? 'admin/partials/service-table.njk' : 'admin/services.njk', {
      title: 'Services', section: 'admin', area: 'services', services: items, pager, form, errors: errors.fields ?? {}, error: errors.message, notice: noticeFrom(ctx, notices),
    }, status);
  };

  router.get('/admin/services', (ctx) => listPage(ctx));

  router.post('/admin/services', async (ctx) => {
    const body = ctx.request.body as Record<string, unknown>;
    const input = { slug: text(body.slug), name: text(body.name), url: text(body.url) || undefined, firstParty: body.firstParty === 'on', defaultTier: text(body.defaultTier) || undefined };
    await handleForm(
      ctx,
      async () => {
        const service = await createService(hub.db, input, origin(ctx));
        if (isHtmx(ctx)) {
          ctx.set('HX-Redirect', `/admin/services/${service.slug}?notice=registered`);
          ctx.status = 204;
          return;
        }
        redirectWithNotice(ctx, `/admin/services/${service.slug}`, 'registered');
      },
      (errors) => (isHtmx(ctx) ? render(ctx, hub.views, 'admin/partials/service-form.njk', { form: input, errors: errors.fields, error: errors.message }) : listPage(ctx, input, errors)),
    );
  });

  const servicePage = async (ctx: Context, extra: Record<string, unknown> = {}) => {
    const service = await requireService(hub.db, String(ctx.params.slug));
    const [clients, users, pairs, services] = await Promise.all([
      clientQueries.forService(hub.db, service.id),
      entitlementQueries.countForService(hub.db, service.id),
      exchangePairsOf(hub.db, service),
      serviceQueries.all(hub.db),
    ]);
    const exchangesTo = pairs.filter((p) => p.from_slug === service.slug).map((p) => p.to_slug);
    const exchangesFrom = pairs.filter((p) => p.to_slug === service.slug).map((p) => p.from_slug);
    const exchangeTargets = services.filter((other) => other.id !== service.id && !exchangesTo.includes(other.slug)).map((other) => ({ value: other.slug, label: `${other.name} (${other.slug})` }));
    render(ctx, hub.views, 'admin/service.njk', {
      title: service.name, section: 'admin', area: 'services', service, clients, users, notice: noticeFrom(ctx, notices), clientForm: {}, clientErrors: {}, uriErrors: {},
      exchangesTo, exchangesFrom, exchangeTargets, upstreamForm: { upstream: service.upstream_url ?? '' }, upstreamErrors: {},
      rates: ratesOf(service), apiRateDefaults, limitsForm: { token: service.token_rate_limit ?? '', events: service.events_rate_limit ?? '', hub: service.hub_rate_limit ?? '' }, limitErrors: {},
      healthForm: { healthUrl: service.health_url ?? '' }, healthErrors: {}, healthCheckSeconds: hub.config.healthCheck.intervalSeconds, ...extra,
    });
  };

  router.get('/admin/services/:slug', (ctx) => servicePage(ctx));

  router.post('/admin/services/:slug/rate-limits', async (ctx) => {
    const slug = String(ctx.params.slug);
    await requireService(hub.db, slug);
    const body = ctx.request.body as Record<string, unknown>;
    const input = { token: text(body.token), events: text(body.events), hub: text(body.hub) };
    await handleForm(
      ctx,
      async () => {
        await setServiceRateLimits(hub.db, slug, input, origin(ctx));
        redirectWithNotice(ctx, `/admin/services/${slug}`, 'limits-saved');
      },
      (errors) => servicePage(ctx, { limitsForm: input, limitErrors: errors.fields ?? {}, limitError: errors.message }),
    );
  });

  router.post('/admin/services/:slug/upstream', async (ctx) => {
    const slug = String(ctx.params.slug);
    await requireService(hub.db, slug);
    const upstream = text((ctx.request.body as Record<string, unknown>).upstream);
    await handleForm(
      ctx,
      async () => {
        await setUpstream(hub.db, slug, upstream, origin(ctx));
        redirectWithNotice(ctx, `/admin/services/${slug}`, 'upstream-saved');
      },
      (errors) => servicePage(ctx, { upstreamForm: { upstream }, upstreamErrors: errors.fields ?? {}, upstreamError: errors.message }),
    );
  });

  const exchangeChange = (allow: boolean) => async (ctx: Context) => {
    const slug = String(ctx.params.slug);
    const to = text((ctx.request.body as Record<string, unknown>).to);
    await handleForm(
      ctx,
      async () => {
        await (allow ? allowExchange : denyExchange)(hub.db, slug, to, origin(ctx));
        redirectWithNotice(ctx, `/admin/services/${slug}`, allow ? 'exchange-allowed' : 'exchange-denied');
      },
      (errors) => servicePage(ctx, { exchangeError: errors.message }),
    );
  };
  router.post('/admin/services/:slug/exchange/allow', exchangeChange(true));
  router.post('/admin/services/:slug/exchange/deny', exchangeChange(false));

  router.post('/admin/services/:slug/health-url', async (ctx) => {
    const slug = String(ctx.params.slug);
    await requireService(hub.db, slug);
    const healthUrl = text((ctx.request.body as Record<string, unknown>).healthUrl).trim();
    await handleForm(
      ctx,
      async () => {
        await setServiceHealthUrl(hub.db, slug, healthUrl || null, origin(ctx));
        redirectWithNotice(ctx, `/admin/services/${slug}`, 'health-url-saved');
      },
      (errors) => servicePage(ctx, { healthForm: { healthUrl }, healthErrors: errors.fields ?? {}, healthError: errors.message }),
    );
  });

  router.post('/admin/services/:slug/clients', async (ctx) => {
    const service = await requireService(hub.db, String(ctx.params.slug));
    const body = ctx.request.body as Record<string, unknown>;
    const input = { service: service.slug, type: text(body.type) as 'web', redirectUris: lines(body.redirectUris), postLogoutRedirectUris: lines(body.postLogoutRedirectUris), name: text(body.name).trim() || undefined };
    await handleForm(
      ctx,
      async () => {
        const created = await createClient(hub.db, hub.secrets.clients, validate, input, origin(ctx));
        // The secret is shown on this answer only: it is stored sealed and never shown again.
        render(ctx, hub.views, 'admin/client-created.njk', { title: 'Client registered', section: 'admin', area: 'services', service, created }, 201);
      },
      (errors) => servicePage(ctx, { clientForm: { ...body, redirectUris: text(body.redirectUris), postLogoutRedirectUris: text(body.postLogoutRedirectUris) }, clientErrors: errors.fields, clientError: errors.message }),
    );
  });

  router.post('/admin/services/:slug/clients/:clientId/redirect-uris', async (ctx) => {
    const service = await requireService(hub.db, String(ctx.params.slug));
    const clientId = String(ctx.params.clientId);
    const client = (await clientQueries.forService(hub.db, service.id)).find((c) => c.client_id === clientId);
    if (!client) ctx.throw(404, 'This service has no such client.');
    const body = ctx.request.body as Record<string, unknown>;
    const uris = lines(body.redirectUris);
    const logoutUris = lines(body.postLogoutRedirectUris);
    await handleForm(
      ctx,
      async () => {
        await updateRedirectUris(hub.db, validate, clientId, uris, logoutUris, origin(ctx));
        hub.holder.caches.clients.delete(clientId);
        if (!isHtmx(ctx)) return redirectWithNotice(ctx, `/admin/services/${service.slug}`, 'uris-saved');
        const fresh = (await clientQueries.forService(hub.db, service.id)).find((c) => c.client_id === clientId);
        render(ctx, hub.views, 'admin/partials/client.njk', { service, client: fresh, uriErrors: {}, notice: notices['uris-saved'] });
      },
      (errors) => {
        const shown = { ...client!, metadata: { ...client!.metadata, redirect_uris: uris, post_logout_redirect_uris: logoutUris } };
        if (isHtmx(ctx)) return render(ctx, hub.views, 'admin/partials/client.njk', { service, client: shown, uriErrors: { [clientId]: errors.fields.redirectUris ?? errors.message } });
        return servicePage(ctx, { uriErrors: { [clientId]: errors.fields.redirectUris ?? errors.message }, editedClient: shown });
      },
    );
  });

  const statusConfirm = (status: 'active' | 'suspended') => async (ctx: Context) => {
    const service = await requireService(hub.db, String(ctx.params.slug));
    const locale = localeOf(ctx);
    const values = { service: service.name };
    render(ctx, hub.views, 'portal/confirm.njk', {
      title: t(locale, status === 'suspended' ? 'admin.service.suspendTitle' : 'admin.service.activateTitle', values),
      section: 'admin',
      message: t(locale, status === 'suspended' ? 'admin.service.suspendMessage' : 'admin.service.activateMessage', values),
      action: `/admin/services/${service.slug}/${status === 'suspended' ? 'suspend' : 'activate'}`,
      button: t(locale, status === 'suspended' ? 'admin.service.suspend' : 'admin.service.activate'),
      danger: status === 'suspended',
      cancelUrl: `/admin/services/${service.slug}`,
    });
  };
  const statusChange = (status: 'active' | 'suspended') => async (ctx: Context) => {
    await setServiceStatus(hub.db, hub.holder.caches, String(ctx.params.slug), status, origin(ctx));
    redirectWithNotice(ctx, `/admin/services/${String(ctx.params.slug)}`, status === 'suspended' ? 'suspended' : 'activated');
    if (isHtmx(ctx)) {
      ctx.set('HX-Redirect', ctx.response.get('Location'));
      ctx.status = 204;
    }
  };
  router.get('/admin/services/:slug/suspend', statusConfirm('suspended'));
  router.post('/admin/services/:slug/suspend', statusChange('suspended'));
  router.get('/admin/services/:slug/activate', statusConfirm('active'));
  router.post('/admin/services/:slug/activate', statusChange('active'));
  return router;
}
