import type { Knex } from 'knex';
import { serviceQueries } from '../queries/services.ts';
import { listActivity } from '../outbox/activity.ts';
import { outboxQueries } from '../queries/outbox.ts';

export interface ActivityItem {
  type: string;
  at: Date;
  service: string | null;
  serviceName: string;
  text: string;
}

export interface ActivityDay {
  /** YYYY-MM-DD (UTC). */
  date: string;
  label: string;
  items: ActivityItem[];
}

const str = (value: unknown) => (typeof value === 'string' ? value : '');

/** One line a person understands, for each kind of event; unknown kinds fall back to their name. */
export function describeEvent(row: { type: string; data: Record<string, unknown> }, serviceName: string, nameOf: (slug: string) => string = (slug) => slug): string {
  const d = row.data ?? {};
  switch (row.type) {
    case 'user.signup': return 'You created your account';
    case 'user.updated': return 'You updated your account details';
    case 'session.created': return `You signed in${d.device ? ` on ${str(d.device)}` : ''}${d.service ? ` to ${nameOf(str(d.service))}` : ''}`;
    case 'session.revoked': return 'A session was signed out';
    case 'entitlement.granted': return `You got ${serviceName} (${str(d.tier)})`;
    case 'entitlement.changed': return `Your ${serviceName} plan changed to ${str(d.tier)}${d.previous_tier ? ` (was ${str(d.previous_tier)})` : ''}`;
    case 'entitlement.revoked': return `Your ${serviceName} plan ended`;
    case 'device.registered': return `A device was added${d.name ? `: ${str(d.name)}` : ''}`;
    case 'device.revoked': return `A device was removed${d.name ? `: ${str(d.name)}` : ''}`;
    case 'app_password.created': return `An app password was created${d.device_name ? ` for ${str(d.device_name)}` : ''}`;
    case 'app_password.revoked': return 'An app password was revoked';
    case 'consent.changed': return d.connected === false ? `You disconnected ${serviceName}` : `You changed what ${serviceName} may receive`;
    case 'mfa.enrolled': return 'You turned on a second step for signing in';
    case 'mfa.removed': return 'You removed a second step for signing in';
    default: {
      const words = row.type.replace(/[._]/g, ' ');
      return `${serviceName}: ${words.charAt(0).toUpperCase()}${words.slice(1)}`;
    }
  }
}

function dayLabel(date: string, now: Date): string {
  const today = now.toISOString().slice(0, 10);
  const yesterday = new Date(now.getTime() - 86_400_000).toISOString().slice(0, 10);
  if (date === today) return 'Today';
  if (date === yesterday) return 'Yesterday';
  return new Date(`${date}T00:00:00Z`).toLocaleDateString('en-GB', { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
}

/** A page of a person's activity, newest first, grouped by day; `next` is the cursor of the following page. */
export async function activityPage(db: Knex, userId: string, options: { before?: number; limit?: number; service?: string; now?: Date }) {
  const page = await listActivity(db, userId, { limit: options.limit ?? 25, ...(options.before ? { before: options.before } : {}), ...(options.service ? { service: options.service } : {}) });
  const names = new Map((await serviceQueries.all(db)).map((s) => [s.slug, s.name]));
  const items: ActivityItem[] = page.items.map((event) => {
    const serviceName = event.service ? (names.get(event.service) ?? event.service) : 'UniQVerse';
    return { type: event.type, at: new Date(event.occurred_at), service: event.service ?? null, serviceName, text: describeEvent(event, serviceName, (slug) => names.get(slug) ?? slug) };
  });
  const days: ActivityDay[] = [];
  for (const item of items) {
    const date = item.at.toISOString().slice(0, 10);
    let day = days.at(-1);
    if (!day || day.date !== date) days.push((day = { date, label: dayLabel(date, options.now ?? new Date()), items: [] }));
    day.items.push(item);
  }
  return { days, items, next: page.next === null ? null : Number(page.next) };
}

export async function activityServices(db: Knex, userId: string): Promise<Array<{ slug: string; name: string }>> {
  const names = new Map((await serviceQueries.all(db)).map((s) => [s.slug, s.name]));
  return (await outboxQueries.servicesOf(db, userId)).map((slug) => ({ slug, name: names.get(slug) ?? slug }));
}
