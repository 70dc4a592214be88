import type { Knex } from 'knex';
import { z } from 'zod';
import { appendAudit, type AuditOrigin } from '../audit/audit-log.ts';
import { serviceLinkTargets } from '../catalog/client-origins.ts';
import { AppError, badRequest, conflict, notFound } from '../platform/errors.ts';
import { appendEvent } from '../outbox/outbox.ts';
import { parseInput } from '../platform/validation.ts';
import { clientQueries } from '../queries/clients.ts';
import { deviceQueries } from '../queries/device-apps.ts';
import { handoffQueries, type HandoffRow } from '../queries/handoffs.ts';
import { serviceQueries } from '../queries/services.ts';

/** The longest a hand-off waits to be taken. */
export const maxHandoffSeconds = 600;

const offerSchema = z.object({
  what: z.string({ message: 'Say what it is, such as "job" or "document".' }).trim().regex(/^[a-z0-9][a-z0-9._-]{0,39}$/, 'what is a short lower-case kind, such as "job" or "document".'),
  title: z.string({ message: 'Give a title the person will recognise.' }).trim().min(1, 'Give a title the person will recognise.').max(120, 'Use at most 120 characters.'),
  url: z.string({ message: 'Give the URL or deep link to open.' }).trim().min(1, 'Give the URL or deep link to open.').max(2048, 'Use at most 2048 characters.'),
  expires_in: z.number().int('expires_in is whole seconds.').min(10, 'expires_in is at least 10 seconds.').max(maxHandoffSeconds, `expires_in is at most ${maxHandoffSeconds} seconds (10 minutes).`).default(300),
});

/** Who offers or takes: the person, through a device app's token (its client, and its grant's device when registered). */
export interface HandoffCaller {
  userId: string;
  clientId: string;
  grantRef: string | null;
}

export interface PublicHandoff {
  id: string;
  what: string;
  title: string;
  service: string | null;
  from_device_id: string | null;
  created_at: string;
  expires_at: string;
}

const publicHandoff = (row: HandoffRow, service: string | null): PublicHandoff => ({
  id: row.id,
  what: row.what,
  title: row.title,
  service,
  from_device_id: row.from_device_id,
  created_at: new Date(row.created_at).toISOString(),
  expires_at: new Date(row.expires_at).toISOString(),
});

async function callerContext(db: Knex, caller: HandoffCaller) {
  const client = await clientQueries.byId(db, caller.clientId);
  if (!client?.service_id || client.service_status !== 'active') throw new AppError('forbidden', 'Hand-offs are offered by a service\'s app: this token\'s client belongs to no active service.');
  const device = caller.grantRef ? await deviceQueries.byGrantRef(db, caller.userId, caller.grantRef) : undefined;
  return { serviceId: client.service_id, serviceSlug: client.service_slug!, deviceId: device?.id ?? null };
}

/**
 * Offers an item to the person's other devices: a page or deep link of the offering service
 * (anything else is refused), for at most ten minutes. The devices hear of it live
 * (`handoff.offered`, without the link); the link is given once, to the device that takes it.
 */
export async function offerHandoff(db: Knex, caller: HandoffCaller, input: unknown, origin: AuditOrigin = {}): Promise<PublicHandoff> {
  const data = parseInput(offerSchema, input);
  const context = await callerContext(db, caller);
  const link = URL.parse(data.url);
  const targets = await serviceLinkTargets(db, context.serviceId, (await serviceQueries.byId(db, context.serviceId))?.url ?? null);
  const owned = link !== null && ((link.protocol === 'https:' || link.protocol === 'http:') ? targets.origins.has(link.origin) : targets.schemes.has(link.protocol));
  if (!owned) throw badRequest(`url: Give a page or deep link of ${context.serviceSlug} (its site, its apps' addresses or their schemes).`, { url: `Give a page or deep link of ${context.serviceSlug}.` });
  return db.transaction(async (trx) => {
    await handoffQueries.deleteOld(trx);
    const row = await handoffQueries.insert(trx, {
      user_id: caller.userId,
      service_id: context.serviceId,
      client_id: caller.clientId,
      from_device_id: context.deviceId,
      what: data.what,
      title: data.title,
      url: data.url,
      expires_at: new Date(Date.now() + data.expires_in * 1000),
    });
    const offered = publicHandoff(row, context.serviceSlug);
    const eventData = { handoff_id: row.id, what: row.what, title: row.title, service: context.serviceSlug, from_device_id: row.from_device_id, expires_at: offered.expires_at };
    await appendEvent(trx, { type: 'handoff.offered', userId: caller.userId, service: context.serviceSlug, data: eventData });
    await appendAudit(trx, { action: 'handoff.offered', actorId: caller.userId, subjectId: caller.userId, ...origin, data: { ...eventData, client_id: caller.clientId } });
    return offered;
  });
}

/** The person's hand-offs waiting to be taken (without their links). */
export async function openHandoffs(db: Knex, userId: string): Promise<PublicHandoff[]> {
  const rows = await handoffQueries.open(db, userId);
  const slugs = new Map<string, string>();
  for (const row of rows) {
    if (!row.service_id || slugs.has(row.service_id)) continue;
    const service = await serviceQueries.byId(db, row.service_id);
    if (service) slugs.set(row.service_id, service.slug);
  }
  return rows.map((row) => publicHandoff(row, row.service_id ? (slugs.get(row.service_id) ?? null) : null));
}

/** Takes a hand-off on this device: its link, once. A second take is a 409; an expired or unknown one, a 404. */
export async function takeHandoff(db: Knex, caller: HandoffCaller, id: string, origin: AuditOrigin = {}): Promise<PublicHandoff & { url: string }> {
  if (!z.uuid().safeParse(id).success) throw notFound('No such hand-off.');
  const device = caller.grantRef ? await deviceQueries.byGrantRef(db, caller.userId, caller.grantRef) : undefined;
  return db.transaction(async (trx) => {
    const row = await handoffQueries.take(trx, caller.userId, id, { deviceId: device?.id ?? null, clientId: caller.clientId });
    if (!row) {
      const known = await handoffQueries.byId(trx, caller.userId, id);
      if (known?.taken_at) throw conflict('This hand-off was already opened on another device.');
      throw notFound(known ? 'This hand-off has expired.' : 'No such hand-off.');
    }
    const service = row.service_id ? ((await serviceQueries.byId(trx, row.service_id))?.slug ?? null) : null;
    const eventData = { handoff_id: row.id, what: row.what, title: row.title, service, taken_by_device_id: row.taken_by_device_id };
    await appendEvent(trx, { type: 'handoff.taken', userId: caller.userId, service, data: eventData });
    await appendAudit(trx, { action: 'handoff.taken', actorId: caller.userId, subjectId: caller.userId, ...origin, data: { ...eventData, client_id: caller.clientId } });
    return { ...publicHandoff(row, service), url: row.url };
  });
}
