import type { Knex } from 'knex';
import type { HubEvent } from '../../outbox/outbox.ts';
import { serviceQueries } from '../../queries/services.ts';
import { defaultLocale, orNone, t, type Locale, type MessageValues } from '../../platform/i18n.ts';

const text = (value: unknown) => (typeof value === 'string' ? value : '');

const escapeHtml = (value: string) =>
  value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** What the portal's notification area says when an event happens, as a catalogue message (null: nothing worth a toast). */
export function notificationMessage(event: HubEvent, serviceName: (slug: string) => string): { key: string; values: MessageValues } | null {
  const d = event.data;
  const service = serviceName(text(d.service) || event.service || '');
  switch (event.type) {
    case 'entitlement.granted':
      return { key: 'toast.entitlementGranted', values: { service, tier: text(d.tier) } };
    case 'entitlement.changed':
      return { key: 'toast.entitlementChanged', values: { service, tier: text(d.tier) } };
    case 'entitlement.revoked':
      return { key: 'toast.entitlementRevoked', values: { service } };
    case 'entitlement.expired':
      return { key: 'toast.entitlementExpired', values: { service, tier: text(d.tier) } };
    case 'session.created':
      return { key: 'toast.signedIn', values: { device: orNone(text(d.device) || text(d.device_name) || text(d.user_agent)) } };
    case 'session.revoked':
      return { key: 'toast.sessionRevoked', values: {} };
    case 'device.registered':
      return { key: 'toast.deviceRegistered', values: { device: text(d.name) || text(d.kind), os: orNone(text(d.os)) } };
    case 'device.revoked':
      return { key: 'toast.deviceRevoked', values: { device: text(d.name) || text(d.kind) } };
    case 'app_password.created':
      return { key: 'toast.appPasswordCreated', values: { device: orNone(text(d.device)) } };
    case 'mfa.enrolled':
      return { key: 'toast.mfaEnrolled', values: {} };
    case 'mfa.removed':
      return { key: 'toast.mfaRemoved', values: {} };
    case 'user.updated':
      return { key: 'toast.userUpdated', values: {} };
    case 'user.signup':
    case 'consent.changed':
    case 'app_password.revoked':
      return null;
    default: {
      if (!event.service) return null;
      // A service's own event: its type in words, as the service named it.
      const words = event.type.split('.').slice(1).join(' ').replace(/_/g, ' ');
      return { key: 'toast.serviceEvent', values: { service: serviceName(event.service), what: `${words.charAt(0).toUpperCase()}${words.slice(1)}` } };
    }
  }
}

/** The toast the portal swaps into its notification area (htmx SSE: unnamed messages are swapped), in the viewer's language. */
export function notificationHtml(event: HubEvent, serviceName: (slug: string) => string, locale: Locale = defaultLocale): string | null {
  const message = notificationMessage(event, serviceName);
  return message === null ? null : `<p class="toast" data-event="${escapeHtml(event.type)}">${escapeHtml(t(locale, message.key, message.values))}</p>`;
}

/** Service names by slug for notifications, read now and then (a rename shows within a minute). */
export class ServiceNames {
  private names = new Map<string, string>();
  private loadedAt = 0;
  private readonly db: Knex;

  constructor(db: Knex) {
    this.db = db;
  }

  async refresh(): Promise<void> {
    if (Date.now() - this.loadedAt < 60_000) return;
    this.loadedAt = Date.now();
    const rows = await serviceQueries.namesBySlug(this.db);
    this.names = new Map(rows.map((r) => [r.slug, r.name]));
  }

  readonly lookup = (slug: string): string => this.names.get(slug) ?? slug;
}
