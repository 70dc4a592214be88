import type { Knex } from 'knex';
import type { AudienceMember, HubEvent, RecordedAudience } from '../outbox/outbox.ts';
import type { OutboxRow } from '../queries/outbox.ts';
import { consentQueries, type ConsentRow } from '../queries/service-consents.ts';
import { withheldBy } from '../privacy/data-sharing.ts';
import { relatedServices } from '../outbox/audience.ts';
import { webhookQueries, type ActiveWebhook, type NewDelivery } from '../queries/webhooks.ts';

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
 * (`consent`: their privacy choice for this service, if they made one). An event written with its
 * audience (user.deleted: the person's entitlements, grants and choices are gone by now) goes to
 * the services recorded in it and to no other.
 */
export function receives(hook: ActiveWebhook, event: HubEvent, writtenAt: Date, related: Map<string, Set<string>>, consent: ConsentRow | AudienceMember | undefined, audience?: RecordedAudience | null): boolean {
  if (writtenAt < new Date(hook.created_at) || !typeMatches(hook.event_types, event.type)) return false;
  if (activity(event.type) && consent?.share_activity === false) return false;
  if (audience) return audience.some((member) => member.service_id === hook.service_id);
  if (event.service === hook.service) return true;
  if (!event.user_id || !personal(event.type)) return false;
  return related.get(event.user_id)?.has(hook.service_id) ?? false;
}

/**
 * The event as this service may see it: the claims the person keeps from it (name, email: the
 * same as in ID tokens and userinfo) are left out of the data, and `data.withheld` names them,
 * so the service knows they were not sent rather than emptied.
 */
export function asSharedWith(event: HubEvent, consent: Pick<ConsentRow, 'share_profile' | 'share_email'> | undefined): HubEvent {
  if (!consent) return event;
  const dropped = withheldBy({ profile: consent.share_profile, email: consent.share_email }).claims.filter((claim) => claim in event.data);
  if (!dropped.length) return event;
  const data = Object.fromEntries(Object.entries(event.data).filter(([field]) => !dropped.includes(field)));
  return { ...event, data: { ...data, withheld: dropped } };
}

/**
 * The active webhooks, read again only when the routing's version (migration 184, read by the
 * relay's claim) has moved since the last read: most rounds find the list as it was.
 */
export function activeWebhooks(): (trx: Knex, version: number) => Promise<ActiveWebhook[]> {
  let held: { version: number; hooks: ActiveWebhook[] } | null = null;
  return async (trx, version) => {
    if (held?.version === version) return held.hooks;
    // Read after the claim, in a later snapshot: it holds at least the changes counted in `version`.
    const hooks = await webhookQueries.active(trx);
    held = { version, hooks };
    return hooks;
  };
}

/** Records, in the relay's transaction, one delivery per (webhook, event) that should receive it. */
export async function enqueueWebhookDeliveries(trx: Knex, rows: OutboxRow[], events: HubEvent[], hooks: ActiveWebhook[]): Promise<number> {
  if (!hooks.length) return 0;
  const people = [...new Set(events.filter((e) => e.user_id && personal(e.type)).map((e) => e.user_id!))];
  const related = await relatedServices(trx, people);
  const consents = await consentQueries.forUsers(trx, [...new Set(events.filter((e) => e.user_id).map((e) => e.user_id!))]);
  const deliveries: NewDelivery[] = [];
  for (const [i, event] of events.entries()) {
    const row = rows[i]!;
    const audience = row.audience ?? null;
    const choices = event.user_id ? consents.get(event.user_id) : undefined;
    for (const hook of hooks) {
      const choice = audience ? audience.find((member) => member.service_id === hook.service_id) : choices?.get(hook.service_id);
      if (!receives(hook, event, new Date(row.created_at), related, choice, audience)) continue;
      deliveries.push({ webhook_id: hook.id, event_id: event.id, event_seq: Number(row.seq), event_type: event.type, ordering_key: event.user_id ?? '', payload: asSharedWith(event, choice) });
    }
  }
  await webhookQueries.insertDeliveries(trx, deliveries);
  return deliveries.length;
}
