import Router from '@koa/router';
import type { Context } from 'koa';
import type { AppContext } from '../http/app-context.ts';
import { activityPage } from '../../sessions/activity.ts';
import { formatDay, todayFor } from '../../events/today.ts';
import { requireAccount, type SignedInAccount } from '../http/account-session.ts';
import { noticeFrom, render } from '../http/render.ts';
import { securitySummary } from '../../sessions/security-summary.ts';
import { servicesFor } from '../../privacy/service-access.ts';
import { allTimeZones, localeNames, locales } from '../../platform/i18n.ts';
import { localeOf } from '../http/locale.ts';

const notices = { 'preferences-saved': 'Your language and time zone are saved.' };

/** The home page, with the language and time zone picker filled in as sent when it had errors. */
export async function renderHome(ctx: Context, hub: Pick<AppContext, 'db' | 'views'>, extra: Record<string, unknown> = {}, status = 200): Promise<void> {
  const account = ctx.state.account as SignedInAccount;
  const [services, security, activity, today] = await Promise.all([
    servicesFor(hub.db, account.user.id),
    securitySummary(hub.db, account.user, account.sessionUid),
    activityPage(hub.db, account.user.id, { limit: 5 }),
    todayFor(hub.db, account.user),
  ]);
  render(ctx, hub.views, 'portal/home.njk', {
    title: 'Your account',
    section: 'home',
    services,
    security,
    activity: activity.items,
    today,
    todayLabel: formatDay(today.date, localeOf(ctx)),
    notice: noticeFrom(ctx, notices),
    languages: locales.map((code) => ({ value: code, label: localeNames[code] })),
    currentLocale: account.user.locale ?? localeOf(ctx),
    timeZones: allTimeZones(account.user.time_zone),
    currentTimeZone: account.user.time_zone ?? 'UTC',
    preferenceErrors: {},
    ...extra,
  }, status);
}

/** /account: a greeting, the person's services as tiles, their day across them, the security check-up, the latest activity, language and time zone. */
export function homeRoutes(hub: Pick<AppContext, 'db' | 'views'>): Router {
  const router = new Router();
  router.get('/account', requireAccount(), (ctx) => renderHome(ctx, hub));
  return router;
}
