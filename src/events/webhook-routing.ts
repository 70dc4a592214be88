import type { Knex } from 'knex';
import type { HubEvent } from './outbox.ts';
import type { OutboxRow } from './outbox-queries.ts';
import { webhookQueries, type ActiveWebhook, type NewDelivery } from './webhook-queries.ts';

/** Events about a person that go to every service the person has to do with. */
const personal = (type: string) => type.startsWith('user.') || type.startsWith('session.');

/**
 * What a person keeps from a service by turning "Your activity" off on the privacy page: their
 * sign-ins and sign-outs. (Other services' events never reach a service at all.) user.* and the
 * service's own events still go: the service needs them to keep its copy of the person correct.
 */
const activity = (type: string) => type.startsWith('session.');

/** "email.*" matches email.sent and email.bounce.soft; "*" matches everything; anything else is exact. */
export function typeMatches(patterns: readonly string[] | null, type: string): boolean {
  if (!patterns || !patterns.length) return true;
  return patterns.some((p) => p === '*' || p === type || (p.endsWith('.*') && type.startsWith(p.slice(0, -1))));
}

/**
 * Whether a service's webhook receives an event (written to the outbox at `writtenAt`; a webhook
 * gets what happens after it was created, not history): its own events (its entitlements, what it
 * posted, changes to itself), and user.* and session.* events of people who hold an entitlement
 * or a grant with it, but not the session.* events of people who keep their activity from it
 * (`hidden`: person → services). A deleted person's entitlements and grants are gone with them,
 * so user.deleted goes to every service unless the hub still knows who they dealt with.
 */
export function receives(hook: ActiveWebhook, event: HubEvent, writtenAt: Date, related: Map<string, Set<string>>, hidden: Map<string, Set<string>>): boolean {
  if (writtenAt < new Date(hook.created_at) || !typeMatches(hook.event_types, event.type)) return false;
  if (event.user_id && activity(event.type) && hidden.get(event.user_id)?.has(hook.service_id)) return false;
  if (event.service === hook.service) return true;
  if (!event.user_id || !personal(event.type)) return false;
  const services = related.get(event.user_id);
  if (services?.has(hook.service_id)) return true;
  if (event.type === 'user.deleted') {
    const named = event.data.services;
    return Array.isArray(named) ? named.includes(hook.service) : !services?.size;
  }
  return false;
}

/** Records, in the relay's transaction, one delivery per (webhook, event) that should receive it. */
export async function enqueueWebhookDeliveries(trx: Knex, rows: OutboxRow[], events: HubEvent[]): Promise<number> {
  const hooks = await webhookQueries.active(trx);
  if (!hooks.length) return 0;
  const people = [...new Set(events.filter((e) => e.user_id && personal(e.type)).map((e) => e.user_id!))];
  const related = await webhookQueries.relatedServices(trx, people);
  const hidden = await webhookQueries.activityHidden(trx, [...new Set(events.filter((e) => e.user_id && activity(e.type)).map((e) => e.user_id!))]);
  const deliveries: NewDelivery[] = [];
  for (const [i, event] of events.entries()) {
    const row = rows[i]!;
    for (const hook of hooks) {
      if (!receives(hook, event, new Date(row.created_at), related, hidden)) continue;
      deliveries.push({ webhook_id: hook.id, event_id: event.id, event_seq: Number(row.seq), event_type: event.type, ordering_key: event.user_id ?? '', payload: event });
    }
  }
  await webhookQueries.insertDeliveries(trx, deliveries);
  return deliveries.length;
}
