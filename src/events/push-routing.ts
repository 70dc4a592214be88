import type { Knex } from 'knex';
import { notBefore, notificationSettingsOf, type NotificationKind } from '../devices/notification-settings.ts';
import type { HubEvent } from '../outbox/outbox.ts';
import { defaultLocale, isLocale, isTimeZone, orNone, t, type Locale } from '../platform/i18n.ts';
import { pushDeliveryQueries } from '../queries/push-deliveries.ts';
import { pushSubscriptionQueries } from '../queries/push-subscriptions.ts';
import { serviceQueries } from '../queries/services.ts';
import { userQueries } from '../queries/users.ts';
import type { EventConsumer } from './event-tasks.ts';
import type { PushMessage } from './push-sender.ts';
import { hubNamespaces } from './service-events.ts';

export const signInEvents = ['session.created'] as const;
export const entitlementEvents = ['entitlement.granted', 'entitlement.changed', 'entitlement.revoked', 'entitlement.expired'] as const;
/** "Continue on another device": offered by a service's app, pushed to the person's other devices as a notice of that service. */
export const handoffEvents = ['handoff.offered'] as const;

/** Namespaces of the hub's own events besides those services cannot post into. */
const otherHubNamespaces = ['handoff'];

/** A service's own event about a person (`<namespace>.*`, posted at POST /api/v1/events): a notice from that service. */
export const isServiceNotice = (event: HubEvent): boolean => {
  const namespace = event.type.split('.')[0]!;
  return Boolean(event.user_id && event.service) && !(hubNamespaces as readonly string[]).includes(namespace) && !otherHubNamespaces.includes(namespace);
};

/** Which of the person's choices a queued push falls under, by its event's type (every queued push is of one). */
export const notificationKindOfType = (type: string): NotificationKind =>
  (signInEvents as readonly string[]).includes(type) ? 'sign_in' : (entitlementEvents as readonly string[]).includes(type) ? 'entitlements' : 'service_notices';

/** Which of the person's choices an event falls under; null: never pushed. */
export function notificationKindOf(event: HubEvent): NotificationKind | null {
  if ((signInEvents as readonly string[]).includes(event.type)) return 'sign_in';
  if ((entitlementEvents as readonly string[]).includes(event.type)) return 'entitlements';
  if (isServiceNotice(event) || (handoffEvents as readonly string[]).includes(event.type)) return 'service_notices';
  return null;
}

const text = (value: unknown) => (typeof value === 'string' ? value : '');

/** The push in the person's language: a title, a line, and the portal page (or the service) it opens. */
export function pushMessage(event: HubEvent, locale: Locale, issuer: string, serviceName: (slug: string) => string, serviceUrl: string | null): PushMessage | null {
  const d = event.data;
  const service = serviceName(text(d.service) || event.service || '');
  switch (event.type) {
    case 'handoff.offered':
      // Never the link: it is given once, to the device that takes the hand-off (GET /hub/handoff, then take).
      return { type: event.type, title: t(locale, 'push.handoff.title', { service }), body: text(d.title), url: serviceUrl ?? `${issuer}/account/services` };
    case 'session.created':
      return { type: event.type, title: t(locale, 'push.signIn.title'), body: t(locale, 'toast.signedIn', { device: orNone(text(d.device)) }), url: `${issuer}/account/sessions` };
    case 'entitlement.granted':
      return { type: event.type, title: t(locale, 'push.entitlements.title'), body: t(locale, 'toast.entitlementGranted', { service, tier: text(d.tier) }), url: `${issuer}/account/services` };
    case 'entitlement.changed':
      return { type: event.type, title: t(locale, 'push.entitlements.title'), body: t(locale, 'toast.entitlementChanged', { service, tier: text(d.tier) }), url: `${issuer}/account/services` };
    case 'entitlement.revoked':
      return { type: event.type, title: t(locale, 'push.entitlements.title'), body: t(locale, 'toast.entitlementRevoked', { service }), url: `${issuer}/account/services` };
    case 'entitlement.expired':
      return { type: event.type, title: t(locale, 'push.entitlements.title'), body: t(locale, 'toast.entitlementExpired', { service, tier: text(d.tier) }), url: `${issuer}/account/services` };
    default: {
      if (!isServiceNotice(event)) return null;
      const words = event.type.split('.').slice(1).join(' ').replace(/_/g, ' ');
      const what = `${words.charAt(0).toUpperCase()}${words.slice(1)}`;
      return { type: event.type, title: t(locale, 'push.serviceNotice.title', { service }), body: t(locale, 'toast.serviceEvent', { service, what }), url: serviceUrl ?? `${issuer}/account/services` };
    }
  }
}

/**
 * The subscriber that queues pushes: for an event of a kind the person chose, one delivery per
 * switched-on subscription, due now or when the person's quiet hours end. Whether the device is
 * connected is asked when the push is about to go (src/events/push-worker.ts), not here.
 */
export function pushRouting({ issuer }: { issuer: string }): EventConsumer {
  return {
    name: 'push',
    types: [...signInEvents, ...entitlementEvents, ...handoffEvents],
    accepts: isServiceNotice,
    peopleWorthATask: pushSubscriptionQueries.reachableAmong,
    worthATask: (event, reachable) => reachable && notificationKindOf(event) !== null,
    async handle(trx: Knex, event: HubEvent): Promise<void> {
      const kind = notificationKindOf(event);
      if (!kind || !event.user_id) return;
      const settings = await notificationSettingsOf(trx, event.user_id);
      if (!settings.kinds.includes(kind)) return;
      // A hand-off goes to the person's other devices, not back to the one that offered it.
      const offeredFrom = event.type === 'handoff.offered' ? text(event.data.from_device_id) : '';
      const subscriptions = (await pushSubscriptionQueries.reachable(trx, event.user_id)).filter((s) => !offeredFrom || s.device_id !== offeredFrom);
      if (!subscriptions.length) return;
      const user = await userQueries.byId(trx, event.user_id);
      if (!user) return;
      const locale = isLocale(user.locale) ? user.locale : defaultLocale;
      const slug = text(event.data.service) || event.service || '';
      const service = slug ? await serviceQueries.bySlug(trx, slug) : undefined;
      const message = pushMessage(event, locale, issuer, (s) => (s === slug && service ? service.name : s), kind === 'service_notices' ? (service?.url ?? null) : null);
      if (!message) return;
      const timeZone = user.time_zone && isTimeZone(user.time_zone) ? user.time_zone : 'UTC';
      const due = notBefore(settings, timeZone);
      await pushDeliveryQueries.enqueue(
        trx,
        subscriptions.map((s) => ({ subscription_id: s.id, user_id: event.user_id!, event_id: event.id, event_type: event.type, payload: message, next_attempt_at: due })),
      );
    },
  };
}
