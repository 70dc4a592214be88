import Router from '@koa/router';
import type { AppContext } from '../http/app-context.ts';
import { requireAccount, type SignedInAccount } from '../http/account-session.ts';
import { redirectWithNotice } from '../http/render.ts';
import { requestOrigin } from '../../audit/audit-log.ts';
import { setPreferences } from '../../identity/preferences.ts';
import { handleForm } from '../http/form-errors.ts';
import { renderHome } from './home-routes.ts';

const text = (value: unknown) => (typeof value === 'string' ? value : undefined);

/**
 * The person's language and time zone: the picker on /account, and the zone portal.js posts once
 * when the account has none saved (what the browser's Intl reports).
 */
export function preferencesRoutes(hub: Pick<AppContext, 'db' | 'views'>): Router {
  const router = new Router();
  router.post('/account/preferences', requireAccount(), async (ctx) => {
    const account = ctx.state.account as SignedInAccount;
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    const input = { locale: text(body.locale), timeZone: text(body.timeZone) };
    await handleForm(
      ctx,
      async () => {
        await setPreferences(hub.db, account.user.id, input, requestOrigin(ctx));
        redirectWithNotice(ctx, '/account', 'preferences-saved');
      },
      (problem) => renderHome(ctx, hub, { preferenceErrors: problem.fields, currentLocale: input.locale, currentTimeZone: input.timeZone }, problem.status),
    );
  });
  // Only while no zone is saved: a browser on a trip does not move the zone the person chose.
  router.post('/account/time-zone', requireAccount(), async (ctx) => {
    const account = ctx.state.account as SignedInAccount;
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    if (!account.user.time_zone) await setPreferences(hub.db, account.user.id, { timeZone: text(body.timeZone) ?? '' }, requestOrigin(ctx));
    ctx.status = 204;
  });
  return router;
}
