import type { Knex } from 'knex';
import type { HubEvent } from './outbox.ts';

export interface WebhookRow {
  id: string;
  service_id: string;
  url: string;
  secret_sealed: string;
  event_types: string[] | null;
  status: string;
  created_at: Date;
  updated_at: Date;
}

export interface ActiveWebhook {
  id: string;
  service_id: string;
  service: string;
  event_types: string[] | null;
  created_at: Date;
}

export interface DeliveryRow {
  id: number;
  webhook_id: string;
  event_id: string;
  event_seq: number;
  event_type: string;
  ordering_key: string;
  payload: HubEvent;
  status: 'pending' | 'delivered' | 'dead';
  attempts: number;
  next_attempt_at: Date;
  lease_owner: string | null;
  lease_until: Date | null;
  last_status: number | null;
  last_error: string | null;
  created_at: Date;
  delivered_at: Date | null;
  replayed_at: Date | null;
}

/** A delivery as a worker holds it: with where to send it, the lease token it holds, and its service's slug. */
export type LeasedDelivery = DeliveryRow & { lease_owner: string; url: string; secret_sealed: string; service: string };

export interface AttemptOutcome {
  /** What the receiver answered; null when it did not (timeout, refused connection). */
  status_code: number | null;
  /** Null when delivered (a 2xx). */
  error: string | null;
  duration_ms: number;
}

export type NewDelivery = Pick<DeliveryRow, 'webhook_id' | 'event_id' | 'event_seq' | 'event_type' | 'ordering_key' | 'payload'>;

/** A day of retries, counted from creation or from the last replay. */
const deadline = `coalesce(replayed_at, created_at) + interval '1 day'`;

const containing = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export const webhookQueries = {
  insert: async (db: Knex, row: Pick<WebhookRow, 'service_id' | 'url' | 'secret_sealed' | 'event_types'>): Promise<WebhookRow> => {
    const [created] = await db('webhooks').insert(row).returning('*');
    return created as WebhookRow;
  },
  byId: (db: Knex, id: string): Promise<WebhookRow | undefined> => db('webhooks').where({ id }).first(),
  list: (db: Knex, serviceId?: string) => {
    const query = db('webhooks as w')
      .join('services as s', 's.id', 'w.service_id')
      .orderBy([{ column: 's.slug' }, { column: 'w.created_at' }])
      .select('w.id', 's.slug as service', 'w.url', 'w.event_types', 'w.status', 'w.created_at', 'w.updated_at')
      .select(
        db.raw(`(select count(*)::int from webhook_deliveries d where d.webhook_id = w.id and d.status = 'pending') as pending`),
        db.raw(`(select count(*)::int from webhook_deliveries d where d.webhook_id = w.id and d.status = 'dead') as dead`),
      );
    if (serviceId) query.where('w.service_id', serviceId);
    return query;
  },
  setStatus: (db: Knex, id: string, status: 'active' | 'disabled') => db('webhooks').where({ id }).update({ status, updated_at: db.fn.now() }),
  remove: (db: Knex, id: string) => db('webhooks').where({ id }).delete(),

  active: (trx: Knex): Promise<ActiveWebhook[]> =>
    trx('webhooks as w')
      .join('services as s', 's.id', 'w.service_id')
      .where('w.status', 'active')
      .where('s.status', 'active')
      .select('w.id', 'w.service_id', 's.slug as service', 'w.event_types', 'w.created_at'),

  /** For each person, the services they keep their activity from (privacy page: "Your activity" off). */
  insertDeliveries: async (trx: Knex, rows: NewDelivery[]) => {
    for (let i = 0; i < rows.length; i += 500) {
      await trx('webhook_deliveries').insert(rows.slice(i, i + 500)).onConflict(['webhook_id', 'event_id']).ignore();
    }
  },

  /**
   * Leases due deliveries to `owner`: at most one per (webhook, person) at a time, and only the
   * person's oldest undelivered event, so each service sees a person's events in order. A lease
   * that ran out (its instance died) is taken over here too. Each row gets a lease token of its
   * own (`owner/uuid`): only the attempt that holds it may record its result (see `settle`).
   */
  lease: async (db: Knex, owner: string, leaseSeconds: number, limit: number): Promise<LeasedDelivery[]> => {
    const { rows } = (await db.raw(
      `update webhook_deliveries d
          set lease_owner = ? || '/' || gen_random_uuid(), lease_until = now() + ? * interval '1 second', attempts = d.attempts + 1
         from webhooks w
        where w.id = d.webhook_id
          and d.id in (
            select c.id from webhook_deliveries c
             where c.status = 'pending' and c.next_attempt_at <= now()
               and (c.lease_until is null or c.lease_until < now())
               and not exists (
                 select 1 from webhook_deliveries e
                  where e.webhook_id = c.webhook_id and e.ordering_key = c.ordering_key
                    and e.status = 'pending' and e.event_seq < c.event_seq)
             order by c.next_attempt_at, c.event_seq
             limit ?
             for update skip locked)
      returning d.*, w.url, w.secret_sealed, (select s.slug from services s where s.id = w.service_id) as service`,
      [owner, leaseSeconds, limit],
    )) as { rows: LeasedDelivery[] };
    return rows;
  },

  /**
   * Records one attempt's outcome, in one transaction with its attempt row, and only while the
   * attempt still holds its lease: an attempt whose lease ran out and was taken over writes
   * nothing (false), so the row always says what the lease holder's attempt got. A success marks
   * the delivery delivered; a failure schedules the next try (2 s, 4 s, 8 s … at most an hour
   * apart), or parks it as dead after a day.
   */
  settle: (db: Knex, delivery: Pick<LeasedDelivery, 'id' | 'lease_owner'>, attempt: AttemptOutcome): Promise<boolean> =>
    db.transaction(async (trx) => {
      const held = trx('webhook_deliveries').where({ id: delivery.id, lease_owner: delivery.lease_owner });
      const changed =
        attempt.error === null
          ? await held.update({ status: 'delivered', delivered_at: trx.fn.now(), last_status: attempt.status_code, last_error: null, lease_owner: null, lease_until: null })
          : await held.update({
              status: trx.raw(`case when now() >= ${deadline} then 'dead' else 'pending' end`),
              next_attempt_at: trx.raw(`now() + least(power(2, attempts), 3600) * (0.9 + random() * 0.2) * interval '1 second'`),
              last_status: attempt.status_code,
              last_error: attempt.error.slice(0, 1000),
              lease_owner: null,
              lease_until: null,
            });
      if (changed !== 1) return false;
      await trx('webhook_attempts').insert({ delivery_id: delivery.id, status_code: attempt.status_code, error: attempt.error?.slice(0, 1000) ?? null, duration_ms: attempt.duration_ms });
      return true;
    }),

  deliveries: (db: Knex, filter: { webhookId?: string; serviceId?: string; status?: string; before?: number; limit: number }) => {
    const query = db('webhook_deliveries as d')
      .join('webhooks as w', 'w.id', 'd.webhook_id')
      .join('services as s', 's.id', 'w.service_id')
      .orderBy('d.id', 'desc')
      .limit(filter.limit)
      .select(
        'd.id', 'd.webhook_id', 's.slug as service', 'w.url', 'd.event_id', 'd.event_type', 'd.payload', 'd.status', 'd.attempts',
        'd.next_attempt_at', 'd.last_status', 'd.last_error', 'd.created_at', 'd.delivered_at', 'd.replayed_at',
      );
    if (filter.webhookId) query.where('d.webhook_id', filter.webhookId);
    if (filter.serviceId) query.where('w.service_id', filter.serviceId);
    if (filter.status) query.where('d.status', filter.status);
    if (filter.before !== undefined) query.where('d.id', '<', filter.before);
    return query;
  },
  attempts: (db: Knex, deliveryId: number) =>
    db('webhook_attempts').where({ delivery_id: deliveryId }).orderBy('id').select('attempted_at', 'status_code', 'error', 'duration_ms'),
  deliveryById: (db: Knex, id: number): Promise<DeliveryRow | undefined> => db('webhook_deliveries').where({ id }).first(),
  replay: (db: Knex, ids: number[]) =>
    db('webhook_deliveries')
      .whereIn('id', ids)
      .whereIn('status', ['dead', 'delivered'])
      .update({ status: 'pending', attempts: 0, next_attempt_at: db.fn.now(), replayed_at: db.fn.now(), delivered_at: null, lease_owner: null, lease_until: null }),
  /** Deliveries (pending or kept as a record) of events about a person, or holding one of `texts`: what erasure rewrites. */
  deliveriesMentioning: (trx: Knex, userId: string, texts: string[]): Promise<Array<{ id: number; payload: unknown }>> =>
    trx('webhook_deliveries')
      .where((w) => {
        w.where({ ordering_key: userId }).orWhereRaw("payload->>'user_id' = ?", [userId]);
        for (const text of texts) w.orWhereRaw('payload::text ilike ?', [containing(text)]);
      })
      .select('id', 'payload'),
  replacePayload: (trx: Knex, id: number, payload: unknown) => trx('webhook_deliveries').where({ id }).update({ payload: JSON.stringify(payload) }),
  deadIds: async (db: Knex, webhookId: string): Promise<number[]> =>
    (await db('webhook_deliveries').where({ webhook_id: webhookId, status: 'dead' }).select('id')).map((r: { id: number }) => Number(r.id)),
};
