import type { Knex } from 'knex';
import { z } from 'zod';
import { entryBy, type AuditActor } from '../audit/actors.ts';
import { appendAudit } from '../audit/audit-log.ts';
import type { SecretBox } from '../platform/crypto/secret-box.ts';
import { notFound } from '../platform/errors.ts';
import { serviceQueries } from '../queries/services.ts';
import { requireService } from '../catalog/services.ts';
import { parseInput } from '../platform/validation.ts';
import { webhookQueries } from '../queries/webhooks.ts';
import { newWebhookSecret } from './webhook-signing.ts';

/** Purpose of the secret box that seals webhook secrets (derived from the master secret). */
export const webhookSecretPurpose = 'webhook-secrets';

const eventPattern = z
  .string()
  .trim()
  .regex(/^(\*|[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_]*)*(\.\*)?)$/, 'Use event types such as user.signup, or a prefix such as email.*');

const newWebhookSchema = z.object({
  service: z.string().min(1, 'Name a service.'),
  url: z.url({ protocol: /^https?$/, message: 'Enter an http(s) URL.' }),
  events: z.array(eventPattern).max(50).optional(),
});

export interface CreatedWebhook {
  id: string;
  /** Shown once; the hub keeps it sealed to sign deliveries. */
  secret: string;
  service: string;
  url: string;
  events: string[] | null;
}

export async function createWebhook(db: Knex, box: SecretBox, input: z.input<typeof newWebhookSchema>): Promise<CreatedWebhook> {
  const data = parseInput(newWebhookSchema, input);
  const service = await requireService(db, data.service);
  const secret = newWebhookSecret();
  const events = data.events?.length ? [...new Set(data.events)] : null;
  const row = await webhookQueries.insert(db, { service_id: service.id, url: data.url, secret_sealed: box.seal(secret), event_types: events });
  return { id: row.id, secret, service: service.slug, url: row.url, events };
}

export interface WebhookSummary {
  id: string;
  service: string;
  url: string;
  events: string[] | null;
  status: string;
  pending: number;
  dead: number;
  created_at: string;
}

export async function listWebhooks(db: Knex, filter: { service?: string } = {}): Promise<WebhookSummary[]> {
  const service = filter.service ? await requireService(db, filter.service) : undefined;
  const rows = await webhookQueries.list(db, service?.id);
  return rows.map((r: Record<string, unknown>) => ({
    id: r.id as string,
    service: r.service as string,
    url: r.url as string,
    events: (r.event_types as string[] | null) ?? null,
    status: r.status as string,
    pending: Number(r.pending),
    dead: Number(r.dead),
    created_at: new Date(r.created_at as string).toISOString(),
  }));
}

const uuid = z.uuid('Not a webhook id.');

async function requireWebhook(db: Knex, id: string) {
  const webhook = await webhookQueries.byId(db, parseInput(uuid, id));
  if (!webhook) throw notFound(`No webhook ${id}.`);
  return webhook;
}

/** What an entry says of a webhook: never its secret, and of its URL only the origin (a path or query may carry the receiver's token). */
async function describedWebhook(trx: Knex, webhook: { id: string; service_id: string; url: string }) {
  const service = await serviceQueries.byId(trx, webhook.service_id);
  return { webhook_id: webhook.id, service: service?.slug ?? null, url_origin: new URL(webhook.url).origin };
}

/**
 * Stops or resumes deliveries to a webhook (what is pending waits while it is disabled).
 * `by` (the administrator, or the operator at the CLI) is audited, webhook.disabled or
 * webhook.enabled, in the same transaction.
 */
export async function setWebhookEnabled(db: Knex, id: string, enabled: boolean, by: AuditActor): Promise<void> {
  await db.transaction(async (trx) => {
    const webhook = await requireWebhook(trx, id);
    await webhookQueries.setStatus(trx, webhook.id, enabled ? 'active' : 'disabled');
    await appendAudit(trx, entryBy(by, { action: enabled ? 'webhook.enabled' : 'webhook.disabled', data: await describedWebhook(trx, webhook) }));
  });
}

/** Deletes a webhook and its delivery history; audited (webhook.deleted, by `by`) in the same transaction. */
export async function deleteWebhook(db: Knex, id: string, by: AuditActor): Promise<void> {
  await db.transaction(async (trx) => {
    const webhook = await requireWebhook(trx, id);
    await webhookQueries.remove(trx, webhook.id);
    await appendAudit(trx, entryBy(by, { action: 'webhook.deleted', data: await describedWebhook(trx, webhook) }));
  });
}

const historySchema = z.object({
  webhook: z.uuid('Not a webhook id.').optional(),
  service: z.string().optional(),
  status: z.enum(['pending', 'delivered', 'dead']).optional(),
  before: z.coerce.number().int().positive().optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

/** Delivery history for admins, newest first; `next` continues the list. */
export async function listDeliveries(db: Knex, input: z.input<typeof historySchema> = {}) {
  const filter = parseInput(historySchema, input);
  const service = filter.service ? await requireService(db, filter.service) : undefined;
  const rows = await webhookQueries.deliveries(db, {
    ...(filter.webhook ? { webhookId: filter.webhook } : {}),
    ...(service ? { serviceId: service.id } : {}),
    ...(filter.status ? { status: filter.status } : {}),
    ...(filter.before ? { before: filter.before } : {}),
    limit: filter.limit,
  });
  const items = rows.map((r: Record<string, unknown>) => ({
    id: Number(r.id),
    webhook_id: r.webhook_id as string,
    service: r.service as string,
    url: r.url as string,
    event_id: r.event_id as string,
    event_type: r.event_type as string,
    status: r.status as string,
    attempts: Number(r.attempts),
    next_attempt_at: r.status === 'pending' ? new Date(r.next_attempt_at as string).toISOString() : null,
    last_status: (r.last_status as number | null) ?? null,
    last_error: (r.last_error as string | null) ?? null,
    created_at: new Date(r.created_at as string).toISOString(),
    delivered_at: r.delivered_at ? new Date(r.delivered_at as string).toISOString() : null,
    payload: r.payload,
  }));
  return { items, next: items.length === filter.limit ? items[items.length - 1]!.id : null };
}

/** Every attempt of one delivery: when, what the receiver answered, how long it took. */
export async function deliveryAttempts(db: Knex, deliveryId: number) {
  const delivery = await webhookQueries.deliveryById(db, deliveryId);
  if (!delivery) throw notFound(`No delivery ${deliveryId}.`);
  const attempts = await webhookQueries.attempts(db, deliveryId);
  return attempts.map((a: Record<string, unknown>) => ({
    attempted_at: new Date(a.attempted_at as string).toISOString(),
    status_code: (a.status_code as number | null) ?? null,
    error: (a.error as string | null) ?? null,
    duration_ms: Number(a.duration_ms),
  }));
}

/** Sends a dead (or already delivered) delivery again, with a fresh day of retries. */
export async function replayDelivery(db: Knex, deliveryId: number): Promise<void> {
  const delivery = await webhookQueries.deliveryById(db, deliveryId);
  if (!delivery) throw notFound(`No delivery ${deliveryId}.`);
  await webhookQueries.replay(db, [deliveryId]);
}

/** Replays every dead delivery of a webhook (after the receiver is fixed); returns how many. */
export async function replayDeadDeliveries(db: Knex, webhookId: string): Promise<number> {
  await requireWebhook(db, webhookId);
  const ids = await webhookQueries.deadIds(db, webhookId);
  if (ids.length) await webhookQueries.replay(db, ids);
  return ids.length;
}
