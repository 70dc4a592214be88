import type { Knex } from 'knex';
import { noValue, orNone, t, type Locale, type MessageValues } from '../platform/i18n.ts';
import { serviceQueries } from '../queries/services.ts';
import { listActivity } from '../outbox/activity.ts';
import { outboxQueries } from '../queries/outbox.ts';

export interface ActivityItem {
  type: string;
  at: Date;
  service: string | null;
  serviceName: string;
  /** In English; `message` draws it in the page's language. */
  text: string;
  message: ActivityMessage;
}

export interface ActivityDay {
  /** YYYY-MM-DD, in the person's zone (UTC unless given). */
  date: string;
  label: string;
  items: ActivityItem[];
}

const str = (value: unknown) => (typeof value === 'string' ? value : '');

/** An activity line as a catalogue key (activity.*) and its values, for any language. */
export interface ActivityMessage {
  key: string;
  values: MessageValues;
}

/** One line a person understands, for each kind of event; unknown kinds fall back to their name. */
export function describeEventMessage(row: { type: string; data: Record<string, unknown> }, serviceName: string, nameOf: (slug: string) => string = (slug) => slug): ActivityMessage {
  const d = row.data ?? {};
  const service = serviceName;
  switch (row.type) {
    case 'user.signup': return { key: 'activity.signup', values: {} };
    case 'user.updated': return { key: 'activity.updated', values: {} };
    case 'session.created': return { key: 'activity.signedIn', values: { device: orNone(str(d.device)), service: d.service ? nameOf(str(d.service)) : noValue } };
    case 'session.revoked': return { key: 'activity.sessionRevoked', values: {} };
    case 'entitlement.granted': return { key: 'activity.granted', values: { service, tier: str(d.tier) } };
    case 'entitlement.changed': return { key: 'activity.changed', values: { service, tier: str(d.tier), previous: str(d.previous_tier) } };
    case 'entitlement.revoked': return { key: 'activity.revoked', values: { service } };
    case 'device.registered': return { key: 'activity.deviceAdded', values: { name: str(d.name) } };
    case 'device.revoked': return { key: 'activity.deviceRemoved', values: { name: str(d.name) } };
    case 'device.renamed': return { key: 'activity.deviceRenamed', values: { name: str(d.name), previous: orNone(str(d.previous_name)) } };
    case 'app_password.created': return { key: 'activity.appPasswordCreated', values: { device: str(d.device_name) } };
    case 'app_password.revoked': return { key: 'activity.appPasswordRevoked', values: {} };
    case 'consent.changed': return d.connected === false ? { key: 'activity.disconnected', values: { service } } : { key: 'activity.consentChanged', values: { service } };
    case 'mfa.enrolled': return { key: 'activity.mfaAdded', values: {} };
    case 'mfa.removed': return { key: 'activity.mfaRemoved', values: {} };
    default: {
      const words = row.type.replace(/[._]/g, ' ');
      return { key: 'activity.other', values: { service, event: `${words.charAt(0).toUpperCase()}${words.slice(1)}` } };
    }
  }
}

/** The line in one language (English unless asked). */
export const describeEvent = (row: { type: string; data: Record<string, unknown> }, serviceName: string, nameOf?: (slug: string) => string, locale: Locale = 'en'): string => {
  const message = describeEventMessage(row, serviceName, nameOf);
  return t(locale, message.key, message.values);
};

/** The calendar day of an instant in a zone, as YYYY-MM-DD. */
const dayIn = (at: Date, timeZone: string) => new Intl.DateTimeFormat('en-CA', { year: 'numeric', month: '2-digit', day: '2-digit', timeZone }).format(at);

/** "Today", "Yesterday" or the date, in the person's language; days are the person's days (their zone). */
function dayLabel(date: string, now: Date, locale: Locale, timeZone: string): string {
  const relative = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' });
  const capitalised = (text: string) => text.charAt(0).toLocaleUpperCase(locale) + text.slice(1);
  if (date === dayIn(now, timeZone)) return capitalised(relative.format(0, 'day'));
  if (date === dayIn(new Date(now.getTime() - 86_400_000), timeZone)) return capitalised(relative.format(-1, 'day'));
  return new Date(`${date}T00:00:00Z`).toLocaleDateString(locale === 'en' ? 'en-GB' : locale, { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
}

/** A page of a person's activity, newest first, grouped by day; `next` is the cursor of the following page. */
export async function activityPage(db: Knex, userId: string, options: { before?: number; limit?: number; service?: string; now?: Date; locale?: Locale; timeZone?: string }) {
  const locale = options.locale ?? 'en';
  const timeZone = options.timeZone ?? 'UTC';
  const page = await listActivity(db, userId, { limit: options.limit ?? 25, ...(options.before ? { before: options.before } : {}), ...(options.service ? { service: options.service } : {}) });
  const names = new Map((await serviceQueries.all(db)).map((s) => [s.slug, s.name]));
  const items: ActivityItem[] = page.items.map((event) => {
    const serviceName = event.service ? (names.get(event.service) ?? event.service) : 'UniQVerse';
    const message = describeEventMessage(event, serviceName, (slug) => names.get(slug) ?? slug);
    return { type: event.type, at: new Date(event.occurred_at), service: event.service ?? null, serviceName, text: t('en', message.key, message.values), message };
  });
  const days: ActivityDay[] = [];
  for (const item of items) {
    const date = dayIn(item.at, timeZone);
    let day = days.at(-1);
    if (!day || day.date !== date) days.push((day = { date, label: dayLabel(date, options.now ?? new Date(), locale, timeZone), items: [] }));
    day.items.push(item);
  }
  return { days, items, next: page.next === null ? null : Number(page.next) };
}

export async function activityServices(db: Knex, userId: string): Promise<Array<{ slug: string; name: string }>> {
  const names = new Map((await serviceQueries.all(db)).map((s) => [s.slug, s.name]));
  return (await outboxQueries.servicesOf(db, userId)).map((slug) => ({ slug, name: names.get(slug) ?? slug }));
}
