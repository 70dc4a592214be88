import type { Knex } from 'knex';
import type { HubEvent } from '../../outbox/outbox.ts';
import { serviceQueries } from '../../queries/services.ts';

const text = (value: unknown) => (typeof value === 'string' ? value : '');

const escapeHtml = (value: string) =>
  value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** What the portal's notification area says when an event happens (null: nothing worth a toast). */
export function notificationText(event: HubEvent, serviceName: (slug: string) => string): string | null {
  const d = event.data;
  const service = serviceName(text(d.service) || event.service || '');
  switch (event.type) {
    case 'entitlement.granted':
      return `New entitlement available: ${service} ${text(d.tier)}`;
    case 'entitlement.changed':
      return `Your ${service} plan is now ${text(d.tier)}`;
    case 'entitlement.revoked':
      return `Your ${service} plan ended`;
    case 'entitlement.expired':
      return `Your ${service} ${text(d.tier)} plan expired`;
    case 'session.created': {
      const device = text(d.device) || text(d.device_name) || text(d.user_agent);
      return device ? `New sign-in from ${device}` : 'New sign-in to your account';
    }
    case 'session.revoked':
      return 'A session was signed out';
    case 'device.registered':
      return `New device: ${text(d.name) || text(d.kind)}${d.os ? ` (${text(d.os)})` : ''}`;
    case 'device.revoked':
      return `Device removed: ${text(d.name) || text(d.kind)}`;
    case 'app_password.created':
      return `App password created${d.device ? ` for ${text(d.device)}` : ''}`;
    case 'mfa.enrolled':
      return 'A second sign-in step was turned on';
    case 'mfa.removed':
      return 'A second sign-in step was removed';
    case 'user.updated':
      return 'Your account details changed';
    case 'user.signup':
    case 'consent.changed':
    case 'app_password.revoked':
      return null;
    default: {
      if (!event.service) return null;
      const words = event.type.split('.').slice(1).join(' ').replace(/_/g, ' ');
      return `${serviceName(event.service)}: ${words.charAt(0).toUpperCase()}${words.slice(1)}`;
    }
  }
}

/** The toast the portal swaps into its notification area (htmx SSE: unnamed messages are swapped). */
export function notificationHtml(event: HubEvent, serviceName: (slug: string) => string): string | null {
  const message = notificationText(event, serviceName);
  return message === null ? null : `<p class="toast" data-event="${escapeHtml(event.type)}">${escapeHtml(message)}</p>`;
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
