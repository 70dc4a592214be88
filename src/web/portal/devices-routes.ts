import Router from '@koa/router';
import type { Context as RouterContext } from 'koa';
import { requestOrigin } from '../../audit/audit-log.ts';
import { AppError, notFound } from '../../platform/errors.ts';
import type { AppContext } from '../http/app-context.ts';
import { serviceQueries } from '../../queries/services.ts';
import { allServices, createAppPassword, deviceTypes, listAppPasswords, revokeAppPassword } from '../../identity/app-passwords.ts';
import { devicesOverview } from '../../devices/device-overview.ts';
import { revokeDevice } from '../../devices/device-apps.ts';
import { deviceKindKeys } from '../../devices/device-kinds.ts';
import { requireAccount, type SignedInAccount } from '../http/account-session.ts';
import { confirmedAction } from '../http/confirm-action.ts';
import { requireRecentSignIn } from '../http/recent-sign-in.ts';
import { isHtmx, render } from '../http/render.ts';
import { localeOf } from '../http/locale.ts';
import { t } from '../../platform/i18n.ts';
import { handleForm } from '../http/form-errors.ts';

const page = '/account/devices';

const notices: Record<string, string> = {
  'app-password-revoked': 'App password revoked. The device that used it can no longer sign in with it.',
  'device-removed': 'Device removed. Its app is signed out, its live connections are closed and its app passwords are revoked.',
};

/** /account/devices: the person's devices (removable, with all they can do), and app passwords, one per device, shown once, revocable. */
export function devicesRoutes(hub: Pick<AppContext, 'db' | 'secrets' | 'views'>): Router {
  const { db, views } = hub;
  const router = new Router();
  const account = (ctx: RouterContext) => ctx.state.account as SignedInAccount;

  async function devicesPage(ctx: RouterContext, extra: Record<string, unknown> = {}) {
    const me = account(ctx);
    const [appPasswords, services, { devices }] = await Promise.all([listAppPasswords(db, me.user.id), serviceQueries.all(db), devicesOverview(db, me.user.id, me.sessionUid)]);
    const notice = typeof ctx.query.notice === 'string' ? notices[ctx.query.notice] : undefined;
    render(ctx, views, 'portal/devices.njk', {
      title: 'Devices',
      section: 'devices',
      account: me,
      appPasswords,
      devices,
      services: services.filter((s) => s.status === 'active'),
      deviceTypes,
      kindKeys: deviceKindKeys,
      form: { service: allServices, deviceType: 'phone' },
      fields: {},
      flash: notice,
      ...extra,
    });
  }

  router.get(page, requireAccount(), (ctx) => devicesPage(ctx));

  router.post(`${page}/app-passwords`, requireAccount(), requireRecentSignIn(page), async (ctx) => {
    const body = ctx.request.body as Record<string, unknown>;
    const input = {
      deviceName: typeof body.deviceName === 'string' ? body.deviceName : '',
      deviceType: typeof body.deviceType === 'string' ? body.deviceType : '',
      service: typeof body.service === 'string' ? body.service : '',
      device: typeof body.device === 'string' ? body.device : '',
    };
    await handleForm(
      ctx,
      async () => {
        const created = await createAppPassword(db, hub.secrets.credentials, account(ctx).user.id, input, requestOrigin(ctx));
        const service = created.row.service_id ? await serviceQueries.byId(db, created.row.service_id) : undefined;
        await devicesPage(ctx, { created: { password: created.password, device: created.row.device_name, service: service?.name ?? null } });
      },
      (problem) => devicesPage(ctx, { error: problem.message, fields: problem.fields, form: input }),
    );
  });

  confirmedAction(router, views, `${page}/app-passwords/:id/revoke`, {
    ask: async (ctx) => {
      const appPassword = (await listAppPasswords(db, account(ctx).user.id)).find((a) => a.id === ctx.params.id);
      if (!appPassword) throw notFound('That app password was already revoked.');
      const locale = localeOf(ctx);
      return {
        title: t(locale, 'appPassword.revoke.question', { device: appPassword.device_name }),
        message: t(locale, 'appPassword.revoke.message', { device: appPassword.device_name }),
        button: t(locale, 'appPassword.revoke.button'),
        cancelUrl: page,
        section: 'devices',
      };
    },
    act: async (ctx) => {
      const me = account(ctx);
      let notice = notices['app-password-revoked'];
      try {
        await revokeAppPassword(db, me.user.id, ctx.params.id!, requestOrigin(ctx));
      } catch (error) {
        // Revoked in another tab already: show the list as it is now.
        if (!isHtmx(ctx) || !(error instanceof AppError) || error.code !== 'not_found') throw error;
        notice = 'That app password was already revoked.';
      }
      if (!isHtmx(ctx)) {
        ctx.status = 303;
        return ctx.redirect(`${page}?notice=app-password-revoked`);
      }
      render(ctx, views, 'partials/app-password-list.njk', { appPasswords: await listAppPasswords(db, me.user.id), kindKeys: deviceKindKeys, notice });
    },
  });

  confirmedAction(router, views, `${page}/:id/remove`, {
    ask: async (ctx) => {
      const { devices } = await devicesOverview(db, account(ctx).user.id, account(ctx).sessionUid);
      const device = devices.find((d) => d.id === ctx.params.id);
      if (!device) throw notFound('That device was already removed.');
      const locale = localeOf(ctx);
      const name = device.name ?? t(locale, 'devices.list.unnamed', { kind: t(locale, deviceKindKeys[device.kind] ?? 'device.kind.other'), os: device.os });
      return {
        title: t(locale, 'devices.remove.title', { device: name }),
        message: t(locale, 'devices.remove.message', { device: name }),
        detail: t(locale, 'devices.remove.detail'),
        button: t(locale, 'devices.remove.button'),
        cancelUrl: page,
        section: 'devices',
      };
    },
    act: async (ctx) => {
      const me = account(ctx);
      let notice = notices['device-removed'];
      try {
        await revokeDevice(db, me.user.id, ctx.params.id!, { actorId: me.user.id, ...requestOrigin(ctx) });
      } catch (error) {
        // Removed in another tab (or by the device itself) already: show the list as it is now.
        if (!isHtmx(ctx) || !(error instanceof AppError) || error.code !== 'not_found') throw error;
        notice = 'That device was already removed.';
      }
      if (!isHtmx(ctx)) {
        ctx.status = 303;
        return ctx.redirect(`${page}?notice=device-removed`);
      }
      render(ctx, views, 'partials/device-list.njk', { devices: (await devicesOverview(db, me.user.id, me.sessionUid)).devices, kindKeys: deviceKindKeys, notice });
    },
  });

  return router;
}
