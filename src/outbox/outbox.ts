import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { outboxQueries, type HubEvent, type RecordedAudience } from '../queries/outbox.ts';
import { userQueries } from '../queries/users.ts';

export type { AudienceMember, HubEvent, RecordedAudience } from '../queries/outbox.ts';

export interface NewEvent {
  type: string;
  userId?: string | null;
  service?: string | null;
  data: Record<string, unknown>;
  occurredAt?: Date;
  id?: string;
  /**
   * The services that may hear of it and what each may see, fixed when it is written (kept beside
   * the event, never in it): for an event whose audience is gone by the time the relay routes it.
   */
  audience?: RecordedAudience;
}

/**
 * user.* payloads are self-contained (docs/events.md): a consumer never has to ask who the person
 * is. What the producer left out is read from the users table, in the same transaction.
 */
async function withPerson(trx: Knex, event: NewEvent): Promise<Record<string, unknown>> {
  if (!event.type.startsWith('user.') || !event.userId || ('email' in event.data && 'name' in event.data)) return event.data;
  const user = await userQueries.emailAndName(trx, event.userId);
  return user ? { email: user.email, name: user.name, ...event.data } : event.data;
}

/**
 * Writes an event in the caller's transaction, so it exists if and only if the change does.
 * The relay publishes it afterwards (a trigger wakes it at commit).
 */
export async function appendEvent(trx: Knex, event: NewEvent): Promise<HubEvent> {
  const { write, envelope } = await eventWrite(trx, event);
  await write;
  return envelope;
}

/**
 * appendEvent's insert, not yet sent, for a caller that sends it together with other writes of its
 * transaction (db/write-together.ts). `computed` adds fields to the data that the statement itself
 * works out (name → an SQL expression giving a JSON value): the envelope returned leaves them out.
 */
export async function eventWrite(trx: Knex, event: NewEvent, computed: Record<string, Knex.Raw> = {}): Promise<{ write: Knex.QueryBuilder; envelope: HubEvent }> {
  const data = await withPerson(trx, event);
  const row = {
    id: event.id ?? randomUUID(),
    type: event.type,
    occurred_at: event.occurredAt ?? new Date(),
    user_id: event.userId ?? null,
    service: event.service ?? null,
    data,
    ...(event.audience ? { audience: JSON.stringify(event.audience) } : {}),
  };
  const stored = Object.keys(computed).length ? outboxQueries.dataWith(trx, data, computed) : data;
  return { write: outboxQueries.insert(trx, { ...row, data: stored }).returning('seq'), envelope: toEnvelope(row) };
}

export function toEnvelope(row: { id: string; type: string; occurred_at: Date | string; user_id: string | null; service: string | null; data: Record<string, unknown> }): HubEvent {
  const envelope: HubEvent = { id: row.id, type: row.type, occurred_at: new Date(row.occurred_at).toISOString(), data: row.data };
  if (row.user_id) envelope.user_id = row.user_id;
  if (row.service) envelope.service = row.service;
  return envelope;
}
