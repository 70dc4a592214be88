import type { Knex } from 'knex';
import { z } from 'zod';
import { badRequest, conflict } from '../platform/errors.ts';
import { serviceQueries, type ServiceRow } from '../queries/services.ts';
import { userQueries } from '../queries/users.ts';
import { parseInput } from '../platform/validation.ts';
import { appendEvent } from '../outbox/outbox.ts';
import { outboxQueries } from '../queries/outbox.ts';
import { paymentSchema, refundSchema } from './provisioning.ts';
import { relatedServices } from '../outbox/audience.ts';

/** Namespaces of the hub's own events: no service may post into them. */
export const hubNamespaces = ['user', 'session', 'entitlement', 'device', 'app_password', 'consent', 'mfa', 'service', 'payment', 'hub', 'push_subscription', 'notification_settings', 'daily_summary'] as const;

/** A service posts events in its own namespace: the slug without the family prefix (vezepyemail → email). */
export function namespaceFor(slug: string): string {
  return slug.startsWith('vezepy') && slug.length > 'vezepy'.length ? slug.slice('vezepy'.length) : slug;
}

const maxDataBytes = 16 * 1024;

const postedEventSchema = z.object({
  id: z.uuid('Give id as a UUID (it makes a retried post idempotent).').optional(),
  type: z
    .string({ message: 'Give the event type, such as email.sent.' })
    .regex(/^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_]*)+$/, 'Use a dotted lower-case type such as email.sent or game.match.finished.')
    .max(100),
  user: z.uuid('Give the person as their sub (the subject of their tokens).'),
  occurred_at: z.iso.datetime({ offset: true, message: 'Use an ISO-8601 date-time with offset, such as 2026-05-01T12:00:00Z.' }).optional(),
  data: z.record(z.string(), z.unknown()).default({}),
});

export type PostedEvent = z.input<typeof postedEventSchema>;

function checkType(service: ServiceRow, type: string): void {
  const namespace = namespaceFor(service.slug);
  if (type === 'payment.completed' || type === 'payment.refunded') {
    if (!service.first_party) throw badRequest(`Only a trusted (first-party) service may post ${type}.`, { type: 'Not allowed for this service.' });
    return;
  }
  if ((hubNamespaces as readonly string[]).includes(namespace)) {
    throw badRequest(`The namespace "${namespace}" belongs to the hub; this service cannot post events.`, { type: 'Reserved namespace.' });
  }
  if (!type.startsWith(`${namespace}.`)) throw badRequest(`Event type must be in this service's namespace: ${namespace}.*`, { type: `Use ${namespace}.<something>.` });
}

/**
 * Stores a service's own event about a person in the outbox (the relay publishes it and it shows
 * in the person's activity). Returns the event id; posting the same id again is a no-op.
 */
export async function postServiceEvent(db: Knex, service: ServiceRow, input: unknown, now = new Date()): Promise<{ id: string; duplicate: boolean }> {
  const data = parseInput(postedEventSchema, input);
  checkType(service, data.type);
  if (Buffer.byteLength(JSON.stringify(data.data)) > maxDataBytes) throw badRequest(`data is larger than ${maxDataBytes / 1024} KiB.`, { data: 'Too large.' });
  const occurredAt = data.occurred_at ? new Date(data.occurred_at) : now;
  if (occurredAt.getTime() > now.getTime() + 5 * 60_000) throw badRequest('occurred_at is in the future.', { occurred_at: 'In the future.' });
  if (data.type === 'payment.completed' || data.type === 'payment.refunded') {
    const payment = parseInput(data.type === 'payment.completed' ? paymentSchema : refundSchema, data.data);
    if (!(await serviceQueries.bySlug(db, payment.service))) throw badRequest(`No service "${payment.service}" to pay for.`, { 'data.service': 'Unknown service.' });
  }

  const alreadyPosted = async (trx: Knex) => {
    const existing = data.id ? await outboxQueries.byId(trx, data.id) : undefined;
    if (!existing) return null;
    if (existing.service === service.slug && existing.type === data.type && existing.user_id === data.user) return { id: existing.id, duplicate: true };
    throw conflict('Another event already has this id.', { id: 'Already used.' });
  };

  const store = () => db.transaction(async (trx) => {
    const existing = await alreadyPosted(trx);
    if (existing) return existing;
    const user = await userQueries.byId(trx, data.user);
    if (!user || user.disabled_at) throw badRequest(`No active person with sub ${data.user}.`, { user: 'Unknown person.' });
    const related = await relatedServices(trx, [user.id]);
    if (!related.get(user.id)?.has(service.id)) {
      throw badRequest('This person has no entitlement or grant with this service.', { user: 'Not a person of this service.' });
    }
    const event = await appendEvent(trx, { id: data.id, type: data.type, userId: user.id, service: service.slug, data: data.data, occurredAt });
    return { id: event.id, duplicate: false };
  });
  try {
    return await store();
  } catch (error) {
    // The same id posted twice at once: one insert wins, the other is the duplicate it is.
    if ((error as { code?: string }).code !== '23505' || !data.id) throw error;
    const existing = await alreadyPosted(db);
    if (!existing) throw error;
    return existing;
  }
}
