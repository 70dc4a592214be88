import Router from '@koa/router';
import type { Context } from 'koa';
import type { AppContext } from '../http/app-context.ts';
import { requestOrigin } from '../../audit/audit-log.ts';
import { notFound } from '../../platform/errors.ts';
import { accountDeletedPath } from './account-deleted.ts';
import { deleteAccount } from '../../privacy/account-deletion.ts';
import { requireAccount, type SignedInAccount } from '../http/account-session.ts';
import { exportPersonalData, recordExport } from '../../privacy/data-export.ts';
import { exportSections } from './data-export-view.ts';
import { localeOf } from '../http/locale.ts';
import { pageParam, paginateArray } from '../../db/pagination.ts';
import { confirmedAction } from '../http/confirm-action.ts';
import { recentSignInSeconds, requireRecentSignIn } from '../http/recent-sign-in.ts';
import { disconnectService, setConsent } from '../../privacy/privacy.ts';
import { handleForm } from '../http/form-errors.ts';
import { isHtmx, noticeFrom, redirectWithNotice, render } from '../http/render.ts';
import { servicesFor } from '../../privacy/service-access.ts';

const notices = { saved: 'Your choices are saved.', disconnected: 'The service is disconnected.' };
const checked = (value: unknown) => value === 'on' || value === 'true' || value === '1';

/** /account/privacy: what each service may receive, disconnecting one, a download of one's data, and deletion. */
export function privacyRoutes(hub: Pick<AppContext, 'db' | 'hasher' | 'limits' | 'views' | 'mailer'>): Router {
  const router = new Router();
  const serviceFor = async (ctx: Context) => {
    const account = ctx.state.account as SignedInAccount;
    const service = (await servicesFor(hub.db, account.user.id)).find((s) => s.slug === ctx.params.slug);
    if (!service) throw notFound('You do not use that service.');
    return service;
  };

  router.get('/account/privacy', requireAccount(), async (ctx) => {
    const account = ctx.state.account as SignedInAccount;
    const { items, pager } = paginateArray(await servicesFor(hub.db, account.user.id), pageParam(ctx.query.page), 10);
    const data = { title: 'Privacy', section: 'privacy', services: items, pager, notice: noticeFrom(ctx, notices) };
    render(ctx, hub.views, isHtmx(ctx) ? 'partials/privacy-list.njk' : 'portal/privacy.njk', data);
  });

  router.post('/account/privacy/services/:slug', requireAccount(), async (ctx) => {
    const account = ctx.state.account as SignedInAccount;
    const service = await serviceFor(ctx);
    const body = ctx.request.body as Record<string, unknown>;
    await setConsent(hub.db, account.user.id, service.slug, { profile: checked(body.profile), email: checked(body.email), activity: checked(body.activity) }, requestOrigin(ctx));
    if (!isHtmx(ctx)) return redirectWithNotice(ctx, '/account/privacy', 'saved');
    render(ctx, hub.views, 'partials/privacy-service.njk', { service: await serviceFor(ctx), notice: `${service.name}: your choices are saved.` });
  });

  confirmedAction(router, hub.views, '/account/privacy/services/:slug/disconnect', {
    ask: async (ctx) => {
      const service = await serviceFor(ctx);
      return {
        title: `Disconnect ${service.name}?`,
        section: 'privacy',
        message: `${service.name} will lose access to your account: it can no longer see your details or act for you until you sign in to it again.`,
        button: 'Disconnect',
        cancelUrl: '/account/privacy',
      };
    },
    act: async (ctx) => {
      const account = ctx.state.account as SignedInAccount;
      const service = await serviceFor(ctx);
      await disconnectService(hub.db, account.user.id, service.slug, requestOrigin(ctx));
      if (!isHtmx(ctx)) return redirectWithNotice(ctx, '/account/privacy', 'disconnected');
      // A service known only through the connection drops out of the list on the next load.
      const shown = { ...service, connected: false, sees: [], grantIds: [] };
      render(ctx, hub.views, 'partials/privacy-service.njk', { service: shown, notice: `${service.name} is disconnected. Signing in to it again reconnects it.` });
    },
  });

  router.get('/account/privacy/export', requireAccount({ maxAgeSeconds: 3600 }), async (ctx) => {
    const account = ctx.state.account as SignedInAccount;
    await recordExport(hub.db, account.user.id, 'json', requestOrigin(ctx));
    const data = await exportPersonalData(hub.db, account.user);
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Content-Disposition', `attachment; filename="uniqverse-data-${new Date().toISOString().slice(0, 10)}.json"`);
    ctx.type = 'application/json';
    ctx.body = JSON.stringify(data, null, 2);
  });

  // The same export, readable in the browser (docs/export-format.md).
  router.get('/account/privacy/data', requireAccount({ maxAgeSeconds: 3600 }), async (ctx) => {
    const account = ctx.state.account as SignedInAccount;
    await recordExport(hub.db, account.user.id, 'html', requestOrigin(ctx));
    const data = await exportPersonalData(hub.db, account.user);
    ctx.set('Cache-Control', 'no-store');
    render(ctx, hub.views, 'portal/data-export.njk', { title: 'Your data', section: 'privacy', sections: exportSections(data, localeOf(ctx)), exportedAt: data.exported_at, format: data.format, version: data.version });
  });

  const deletePage = (ctx: Context, errors: { message?: string; fields?: Record<string, string> } = {}) =>
    render(ctx, hub.views, 'portal/delete-account.njk', { title: 'Delete your account', section: 'privacy', errors: errors.fields ?? {}, error: errors.message });

  // Deleting needs a sign-in from the last ten minutes, as changing the password does.
  router.get('/account/privacy/delete', requireAccount({ maxAgeSeconds: recentSignInSeconds }), (ctx) => deletePage(ctx));

  router.post('/account/privacy/delete', requireAccount(), requireRecentSignIn('/account/privacy/delete'), async (ctx) => {
    const account = ctx.state.account as SignedInAccount;
    const body = ctx.request.body as Record<string, unknown>;
    const password = typeof body.password === 'string' ? body.password.slice(0, 1024) : '';
    await handleForm(
      ctx,
      async () => {
        await deleteAccount(hub, account.user.id, password, { ...requestOrigin(ctx), ip: ctx.ip });
        ctx.status = 303;
        ctx.redirect(accountDeletedPath);
      },
      (errors) => deletePage(ctx, errors),
    );
  });
  return router;
}
