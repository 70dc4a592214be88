import Router from '@koa/router';
import type { Context } from 'koa';
import type { AppContext } from '../http/app-context.ts';
import { requestOrigin } from '../../audit/audit-log.ts';
import { AppError } from '../../platform/errors.ts';
import { grantEntitlement, revokeEntitlement } from '../../catalog/entitlements.ts';
import { entitlementQueries } from '../../queries/entitlements.ts';
import { serviceQueries } from '../../queries/services.ts';
import type { SignedInAccount } from '../http/account-session.ts';
import { pageParam, paginate } from '../../db/pagination.ts';
import { handleForm } from '../http/form-errors.ts';
import { isHtmx, noticeFrom, redirectWithNotice, render } from '../http/render.ts';
import { endEverySession } from '../../identity/account-status.ts';
import { listSessions } from '../../sessions/sessions.ts';
import { disableUser, enableUser, requireUser } from '../../identity/user-admin.ts';
import { userQueries } from '../../queries/users.ts';
import { personDirectory } from '../../queries/person-directory.ts';
import { inRegion } from '../../db/regions.ts';
import { t } from '../../platform/i18n.ts';
import { localeOf } from '../http/locale.ts';

const notices = {
  disabled: 'The account is disabled and signed out everywhere. Enable it to undo.',
  enabled: 'The account is enabled again.',
  'sessions-ended': 'Every session of this account is signed out.',
  granted: 'The entitlement is saved.',
  ended: 'The tier is ended.',
};
const regionLabels = { eu: 'region.eu', us: 'region.us', in: 'region.in' } as const;
const text = (value: unknown) => (typeof value === 'string' ? value.trim() : '');

/** /admin/users: search, open, disable or enable, grant, change or end entitlements, end sessions. */
export function usersAdminRoutes(hub: Pick<AppContext, 'db' | 'views' | 'config'>): Router {
  const router = new Router();
  const regions: string[] = hub.config.regions.map((r) => r.region);
  // With data residency, a person's page and what is done there run in the person's home region.
  router.use(async (ctx, next) => {
    const person = /^\/admin\/users\/([0-9a-f-]{36})(?:\/|$)/i.exec(ctx.path)?.[1];
    return person ? personDirectory.forPerson(hub.db, person, () => next()) : next();
  });
  const serviceOptions = async () => (await serviceQueries.all(hub.db)).map((s) => ({ value: s.slug, label: s.name }));
  const origin = (ctx: Context) => ({ ...requestOrigin(ctx), actorId: (ctx.state.account as SignedInAccount).user.id });

  router.get('/admin/users', async (ctx) => {
    const q = text(ctx.query.q).slice(0, 100);
    // With data residency, one region's people at a time (the default region's first).
    const asked = text(ctx.query.region);
    const region = regions.length ? (regions.includes(asked) ? asked : hub.config.defaultRegion!) : null;
    const list = () => paginate(userQueries.search(hub.db, q), pageParam(ctx.query.page), 20, { q, ...(region ? { region } : {}) });
    const { items, pager } = region ? await inRegion(hub.db, region, list) : await list();
    render(ctx, hub.views, isHtmx(ctx) ? 'admin/partials/user-table.njk' : 'admin/users.njk', { title: 'Users', section: 'admin', area: 'users', users: items, pager, q, regions: regions.map((r) => ({ value: r, label: regionLabels[r as keyof typeof regionLabels] })), region });
  });

  const userPage = async (ctx: Context, extra: Record<string, unknown> = {}, status = 200) => {
    const user = await requireUser(hub.db, String(ctx.params.id));
    const [entitlements, sessions, options] = await Promise.all([entitlementQueries.forUser(hub.db, user.id), listSessions(hub.db, user.id, null), serviceOptions()]);
    render(ctx, hub.views, 'admin/user.njk', {
      title: user.name, section: 'admin', area: 'users', user, entitlements, sessions, serviceOptions: options, notice: noticeFrom(ctx, notices), form: {}, errors: {}, ...extra,
    }, status);
  };

  router.get('/admin/users/:id', (ctx) => userPage(ctx));

  router.post('/admin/users/:id/entitlements', async (ctx) => {
    const user = await requireUser(hub.db, String(ctx.params.id));
    const body = ctx.request.body as Record<string, unknown>;
    const expiresDate = text(body.expires);
    const form = { service: text(body.service), tier: text(body.tier), expires: expiresDate };
    await handleForm(
      ctx,
      async () => {
        if (expiresDate && !/^\d{4}-\d{2}-\d{2}$/.test(expiresDate)) throw new AppError('invalid_input', 'Use a date such as 2027-01-31.', { fields: { expires: 'Use a date such as 2027-01-31.' } });
        await grantEntitlement(hub.db, { email: user.email, service: form.service, tier: form.tier, ...(expiresDate ? { expires: `${expiresDate}T23:59:59Z` } : {}) }, origin(ctx));
        if (isHtmx(ctx)) {
          const entitlements = await entitlementQueries.forUser(hub.db, user.id);
          return render(ctx, hub.views, 'admin/partials/entitlements.njk', { user, entitlements, serviceOptions: await serviceOptions(), form: {}, errors: {}, notice: notices.granted });
        }
        redirectWithNotice(ctx, `/admin/users/${user.id}`, 'granted');
      },
      async (errors) => {
        if (isHtmx(ctx)) {
          const entitlements = await entitlementQueries.forUser(hub.db, user.id);
          return render(ctx, hub.views, 'admin/partials/entitlements.njk', { user, entitlements, serviceOptions: await serviceOptions(), form, errors: errors.fields, error: errors.message });
        }
        await userPage(ctx, { form, errors: errors.fields, error: errors.message });
      },
    );
  });

  router.post('/admin/users/:id/entitlements/:service/end', async (ctx) => {
    const user = await requireUser(hub.db, String(ctx.params.id));
    await revokeEntitlement(hub.db, { email: user.email, service: String(ctx.params.service) }, origin(ctx));
    if (isHtmx(ctx)) {
      const entitlements = await entitlementQueries.forUser(hub.db, user.id);
      return render(ctx, hub.views, 'admin/partials/entitlements.njk', { user, entitlements, serviceOptions: await serviceOptions(), form: {}, errors: {}, notice: notices.ended });
    }
    redirectWithNotice(ctx, `/admin/users/${user.id}`, 'ended');
  });

  const confirmPage = (ctx: Context, data: { title: string; message: string; action: string; button: string; danger?: boolean; back: string }) =>
    render(ctx, hub.views, 'portal/confirm.njk', { section: 'admin', cancelUrl: data.back, ...data });

  router.get('/admin/users/:id/disable', async (ctx) => {
    const user = await requireUser(hub.db, String(ctx.params.id));
    const locale = localeOf(ctx);
    confirmPage(ctx, { title: t(locale, 'admin.user.disableTitle', { name: user.name }), message: t(locale, 'admin.user.disableMessage', { email: user.email }), action: `/admin/users/${user.id}/disable`, button: t(locale, 'admin.user.disable'), back: `/admin/users/${user.id}` });
  });
  router.post('/admin/users/:id/disable', async (ctx) => {
    await disableUser(hub.db, String(ctx.params.id), origin(ctx));
    redirectWithNotice(ctx, `/admin/users/${String(ctx.params.id)}`, 'disabled');
  });
  router.get('/admin/users/:id/enable', async (ctx) => {
    const user = await requireUser(hub.db, String(ctx.params.id));
    const locale = localeOf(ctx);
    confirmPage(ctx, { title: t(locale, 'admin.user.enableTitle', { name: user.name }), message: t(locale, 'admin.user.enableMessage', { email: user.email }), action: `/admin/users/${user.id}/enable`, button: t(locale, 'admin.user.enable'), danger: false, back: `/admin/users/${user.id}` });
  });
  router.post('/admin/users/:id/enable', async (ctx) => {
    await enableUser(hub.db, String(ctx.params.id), origin(ctx));
    redirectWithNotice(ctx, `/admin/users/${String(ctx.params.id)}`, 'enabled');
  });
  router.get('/admin/users/:id/end-sessions', async (ctx) => {
    const user = await requireUser(hub.db, String(ctx.params.id));
    const locale = localeOf(ctx);
    confirmPage(ctx, { title: t(locale, 'admin.user.endSessionsTitle', { name: user.name }), message: t(locale, 'admin.user.endSessionsMessage', { email: user.email }), action: `/admin/users/${user.id}/end-sessions`, button: t(locale, 'admin.user.endSessionsButton'), back: `/admin/users/${user.id}` });
  });
  router.post('/admin/users/:id/end-sessions', async (ctx) => {
    const user = await requireUser(hub.db, String(ctx.params.id));
    await hub.db.transaction((trx) => endEverySession(trx, user.id, 'ended_by_admin', origin(ctx)));
    redirectWithNotice(ctx, `/admin/users/${user.id}`, 'sessions-ended');
  });
  return router;
}
