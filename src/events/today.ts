import type { Knex } from 'knex';
import { defaultLocale, isLocale, isTimeZone, noValue, orNone, t, type Locale } from '../platform/i18n.ts';
import { outboxQueries, type OutboxRow } from '../queries/outbox.ts';
import { serviceQueries } from '../queries/services.ts';
import { describeEventMessage, type ActivityMessage } from '../sessions/activity.ts';
import { hubNamespaces } from './service-events.ts';

/** One thing worth naming in a day: a sign-in on a new device, a tier that changed, what a service posted. */
export interface NotableItem {
  type: string;
  at: Date;
  message: ActivityMessage;
  /** The message in the person's language. */
  summary: string;
}

export interface ServiceDay {
  /** null: the person's account itself (sign-ins at the portal, settings). */
  service: { slug: string; name: string } | null;
  count: number;
  notable: NotableItem[];
}

export interface Today {
  /** YYYY-MM-DD in the person's time zone. */
  date: string;
  timeZone: string;
  /** The day's bounds: 23 or 25 hours apart on a day the clocks change. */
  start: Date;
  end: Date;
  count: number;
  services: ServiceDay[];
}

const dateFormats = new Map<string, Intl.DateTimeFormat>();

/** The calendar day of an instant in a zone, as YYYY-MM-DD. */
export function dateIn(at: Date, timeZone: string): string {
  let format = dateFormats.get(timeZone);
  if (!format) dateFormats.set(timeZone, (format = new Intl.DateTimeFormat('en-CA', { year: 'numeric', month: '2-digit', day: '2-digit', timeZone })));
  return format.format(at);
}

/**
 * The first minute of a calendar day in a zone, as an instant. Found by bisection over the local
 * date (which only moves forward), so a day that starts at 01:00 because the clocks skipped
 * midnight starts then, and daylight saving never shifts a boundary by an hour.
 */
export function startOfDay(date: string, timeZone: string): Date {
  const noonUtc = Date.parse(`${date}T12:00:00Z`);
  // Every zone is within 14 hours of UTC: the local midnight lies in this window.
  let low = noonUtc - 27 * 3_600_000;
  let high = noonUtc + 3_600_000;
  while (high - low > 60_000) {
    const middle = low + Math.floor((high - low) / 120_000) * 60_000;
    if (dateIn(new Date(middle), timeZone) >= date) high = middle;
    else low = middle;
  }
  return new Date(high);
}

/** The day after a YYYY-MM-DD date. */
export const nextDate = (date: string) => new Date(Date.parse(`${date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);

/** A YYYY-MM-DD date in words in a language ("Monday 7 December 2026"). */
export const formatDay = (date: string, locale: Locale) =>
  new Date(`${date}T00:00:00Z`).toLocaleDateString(locale === 'en' ? 'en-GB' : locale, { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });

/** The bounds of the person's day that contains `now`. */
export function dayBounds(now: Date, timeZone: string): { date: string; start: Date; end: Date } {
  const date = dateIn(now, timeZone);
  return { date, start: startOfDay(date, timeZone), end: startOfDay(nextDate(date), timeZone) };
}

const entitlementTypes = new Set(['entitlement.granted', 'entitlement.changed', 'entitlement.revoked', 'entitlement.expired']);
const isServicePosted = (type: string) => !(hubNamespaces as readonly string[]).includes(type.split('.')[0]!);

/** Whether an event is named in the summary, not only counted. */
export function isNotable(row: Pick<OutboxRow, 'type' | 'data'>): boolean {
  if (row.type === 'session.created') return row.data?.new_device === true;
  return entitlementTypes.has(row.type) || isServicePosted(row.type);
}

/** A sign-in on a device new to the account, in words ("You signed in on a new device: Safari on iPhone at VEZEPyGame"). */
function newDeviceMessage(row: Pick<OutboxRow, 'data'>, nameOf: (slug: string) => string): ActivityMessage {
  const device = typeof row.data?.device === 'string' ? row.data.device : '';
  const service = typeof row.data?.service === 'string' ? nameOf(row.data.service) : noValue;
  return { key: 'today.newDeviceSignIn', values: { device: orNone(device), service } };
}

/** The service an event belongs to: its own, or for a sign-in, the service signed in at. */
const serviceOf = (row: Pick<OutboxRow, 'service' | 'data'>): string | null => row.service ?? (typeof row.data?.service === 'string' ? row.data.service : null);

/**
 * A person's day across the services, from their activity stream: the events of their local day
 * (users.time_zone, UTC unless set) that contains `now`, grouped by service, each with its count
 * and its notable items. Deterministic: the account's own group first, then services by name (and
 * slug); items by time, then by their place in the stream.
 */
export async function todayFor(db: Knex, user: { id: string; time_zone?: string | null; locale?: string | null }, now: Date = new Date()): Promise<Today> {
  const timeZone = isTimeZone(user.time_zone) ? user.time_zone : 'UTC';
  const locale: Locale = isLocale(user.locale) ? user.locale : defaultLocale;
  const { date, start, end } = dayBounds(now, timeZone);
  const [rows, services] = await Promise.all([outboxQueries.forUserBetween(db, user.id, start, end), serviceQueries.namesBySlug(db)]);
  const names = new Map(services.map((s) => [s.slug, s.name]));
  const nameOf = (slug: string) => names.get(slug) ?? slug;
  const groups = new Map<string | null, ServiceDay>();
  for (const row of rows) {
    const slug = serviceOf(row);
    let group = groups.get(slug);
    if (!group) groups.set(slug, (group = { service: slug === null ? null : { slug, name: nameOf(slug) }, count: 0, notable: [] }));
    group.count += 1;
    if (!isNotable(row)) continue;
    const message = row.type === 'session.created' ? newDeviceMessage(row, nameOf) : describeEventMessage(row, slug === null ? 'UniQVerse' : nameOf(slug), nameOf);
    group.notable.push({ type: row.type, at: new Date(row.occurred_at), message, summary: t(locale, message.key, message.values) });
  }
  const ordered = [...groups.values()].sort((a, b) => {
    if (a.service === null || b.service === null) return a.service === null ? -1 : 1;
    return a.service.name.localeCompare(b.service.name, 'en') || a.service.slug.localeCompare(b.service.slug, 'en');
  });
  return { date, timeZone, start, end, count: rows.length, services: ordered };
}
