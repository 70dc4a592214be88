import { readFileSync } from 'node:fs';
import path from 'node:path';
import Router from '@koa/router';
import type { Context as RouterContext } from 'koa';
import { requestOrigin } from '../../audit/audit-log.ts';
import { notificationKinds, notificationSettingsOf, saveNotificationSettings } from '../../devices/notification-settings.ts';
import { personSubscriptions, setSubscriptionsEnabled, subscribeBrowser, unsubscribe } from '../../devices/push-subscriptions.ts';
import { dailySummaryEnabled, setDailySummary } from '../../events/daily-summary.ts';
import { badRequest } from '../../platform/errors.ts';
import { projectRoot } from '../../platform/views.ts';
import type { AppContext } from '../http/app-context.ts';
import { requireAccount, type SignedInAccount } from '../http/account-session.ts';
import { handleForm } from '../http/form-errors.ts';
import { noticeFrom, redirectWithNotice, render } from '../http/render.ts';

const page = '/account/notifications';

const serviceWorker = readFileSync(path.join(projectRoot, 'public/js/push-sw.js'), 'utf8');

const notices: Record<string, string> = {
  saved: 'Your notification settings are saved.',
  removed: 'That device will get no more notifications.',
  'daily-saved': 'Your daily summary choice is saved.',
};

const list = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : typeof value === 'string' ? [value] : []);
const text = (value: unknown) => (typeof value === 'string' ? value : '');
const clock = (minutes: number | null) => (minutes === null ? '' : `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`);

/**
 * /account/notifications: what the hub pushes (new sign-ins, plan changes, services' notices), to
 * which of the person's devices and browsers, and the quiet hours; and "turn on notifications for
 * this browser" (public/js/push-subscribe.js with the service worker /push-sw.js).
 */
export function notificationsRoutes(hub: Pick<AppContext, 'db' | 'views' | 'events' | 'config'>): Router {
  const { db, views } = hub;
  const router = new Router();
  const account = (ctx: RouterContext) => ctx.state.account as SignedInAccount;

  async function notificationsPage(ctx: RouterContext, extra: { form?: { kinds: string[]; quietStart: string; quietEnd: string; devices: string[] }; fields?: Record<string, string>; error?: string } = {}, status = 200) {
    const me = account(ctx);
    const [settings, subscriptions, dailySummary] = await Promise.all([notificationSettingsOf(db, me.user.id), personSubscriptions(db, me.user.id), dailySummaryEnabled(db, me.user.id)]);
    const form = extra.form ?? {
      kinds: settings.kinds as string[],
      quietStart: clock(settings.quietStart),
      quietEnd: clock(settings.quietEnd),
      devices: subscriptions.filter((s) => s.enabled).map((s) => s.id),
    };
    render(
      ctx,
      views,
      'portal/notifications.njk',
      {
        title: 'Notifications',
        section: 'notifications',
        account: me,
        kinds: notificationKinds,
        subscriptions,
        form,
        fields: extra.fields ?? {},
        error: extra.error,
        flash: noticeFrom(ctx, notices),
        vapidPublicKey: hub.events.push.publicKey(),
        zone: me.user.time_zone ?? 'UTC',
        dailySummary,
        dailySummaryFrom: clock(hub.config.dailySummary.fromMinute),
      },
      status,
    );
  }

  router.get(page, requireAccount(), (ctx) => notificationsPage(ctx));

  // At the root, so its scope may be the whole site; it only shows pushes and opens their page.
  router.get('/push-sw.js', (ctx) => {
    ctx.type = 'application/javascript';
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = serviceWorker;
  });

  router.post(page, requireAccount(), async (ctx) => {
    const me = account(ctx);
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    const form = { kinds: list(body.kinds), quietStart: text(body.quiet_start), quietEnd: text(body.quiet_end), devices: list(body.devices) };
    await handleForm(
      ctx,
      async () => {
        await saveNotificationSettings(db, me.user.id, { kinds: form.kinds, quiet_start: form.quietStart, quiet_end: form.quietEnd }, requestOrigin(ctx));
        await setSubscriptionsEnabled(db, me.user.id, form.devices, requestOrigin(ctx));
        redirectWithNotice(ctx, page, 'saved');
      },
      (problem) => notificationsPage(ctx, { form, fields: problem.fields ?? {}, error: problem.message }, problem.status),
    );
  });

  /** The page's script: the PushSubscription this browser's push service gave, as JSON in the `subscription` field. */
  router.post(`${page}/browser`, requireAccount(), async (ctx) => {
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    let subscription: unknown;
    try {
      subscription = JSON.parse(text(body.subscription));
    } catch {
      throw badRequest('Send the browser\'s PushSubscription as JSON in the subscription field.', { subscription: 'Not JSON.' });
    }
    const { subscription: saved, created } = await subscribeBrowser(db, account(ctx).user.id, subscription, requestOrigin(ctx));
    ctx.status = created ? 201 : 200;
    ctx.body = { subscription: saved, location: `${page}?notice=saved` };
  });

  router.post(`${page}/daily-summary`, requireAccount(), async (ctx) => {
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    await setDailySummary(db, account(ctx).user.id, body.enabled === 'on', { ...requestOrigin(ctx), via: 'settings' });
    redirectWithNotice(ctx, page, 'daily-saved');
  });

  router.post(`${page}/subscriptions/:id/remove`, requireAccount(), async (ctx) => {
    await unsubscribe(db, account(ctx).user.id, ctx.params.id!, {}, requestOrigin(ctx));
    redirectWithNotice(ctx, page, 'removed');
  });

  return router;
}
