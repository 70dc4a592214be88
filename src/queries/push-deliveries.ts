import type { Knex } from 'knex';
import type { PushKind } from './push-subscriptions.ts';

export type PushDeliveryStatus = 'pending' | 'sent' | 'skipped' | 'gone' | 'dead';

export interface PushDeliveryRow {
  id: string;
  subscription_id: string;
  user_id: string;
  event_id: string;
  event_type: string;
  payload: { type: string; title: string; body: string; url: string };
  status: PushDeliveryStatus;
  attempts: number;
  next_attempt_at: Date;
  lease_owner: string | null;
  lease_until: Date | null;
  last_error: string | null;
  created_at: Date;
  finished_at: Date | null;
}

/** A delivery as the worker holds it: with where it goes and the device it is for (its grant reference, for "is it connected?"). */
export type LeasedPush = PushDeliveryRow & {
  lease_owner: string;
  kind: PushKind;
  endpoint: string;
  p256dh: string | null;
  auth: string | null;
  device_id: string | null;
  label: string;
  /** Whether the person still has it switched on, and whether its device was removed since the push was queued. */
  enabled: boolean;
  device_revoked_at: Date | null;
  grant_ref: string | null;
};

/** After this many failed attempts (about a day and a half of backing off) a delivery is given up as dead, and logged. */
export const maxPushAttempts = 12;

export const pushDeliveryQueries = {
  /** One delivery per subscription and event: an event relayed twice queues nothing more. */
  enqueue: async (db: Knex, rows: Array<Pick<PushDeliveryRow, 'subscription_id' | 'user_id' | 'event_id' | 'event_type' | 'payload'> & { next_attempt_at: Date }>): Promise<void> => {
    if (rows.length) await db('push_deliveries').insert(rows.map((r) => ({ ...r, payload: JSON.stringify(r.payload) }))).onConflict(['subscription_id', 'event_id']).ignore();
  },

  /**
   * Leases due deliveries to `owner` (SKIP LOCKED: no two instances send one), taking over those
   * whose lease ran out. Each row gets its own lease token: only its holder records the outcome.
   */
  lease: async (db: Knex, owner: string, leaseSeconds: number, limit: number): Promise<LeasedPush[]> => {
    const { rows } = (await db.raw(
      `update push_deliveries d
          set lease_owner = ? || '/' || gen_random_uuid(), lease_until = now() + ? * interval '1 second', attempts = d.attempts + 1
         from push_subscriptions s
         left join devices v on v.id = s.device_id
        where s.id = d.subscription_id
          and d.id in (
            select c.id from push_deliveries c
             where c.status = 'pending' and c.next_attempt_at <= now()
               and (c.lease_until is null or c.lease_until < now())
             order by c.next_attempt_at
             limit ?
             for update skip locked)
      returning d.*, s.kind, s.endpoint, s.p256dh, s.auth, s.device_id, s.label, s.enabled, v.grant_ref, v.revoked_at as device_revoked_at`,
      [owner, leaseSeconds, limit],
    )) as { rows: LeasedPush[] };
    return rows;
  },

  /** Records the outcome while the attempt holds its lease (false: the lease ran out and another attempt took over). */
  finish: async (db: Knex, delivery: Pick<LeasedPush, 'id' | 'lease_owner'>, status: 'sent' | 'skipped'): Promise<boolean> =>
    (await db('push_deliveries')
      .where({ id: delivery.id, lease_owner: delivery.lease_owner })
      .update({ status, finished_at: db.fn.now(), last_error: null, lease_owner: null, lease_until: null })) === 1,

  /** A failed attempt: the next one in 2 s, 4 s, 8 s … at most an hour later, or dead after `maxPushAttempts`. Returns the new status, or null without the lease. */
  retryLater: async (db: Knex, delivery: Pick<LeasedPush, 'id' | 'lease_owner'>, error: string): Promise<'pending' | 'dead' | null> => {
    const [row] = (await db('push_deliveries')
      .where({ id: delivery.id, lease_owner: delivery.lease_owner })
      .update({
        status: db.raw(`case when attempts >= ? then 'dead' else 'pending' end`, [maxPushAttempts]),
        finished_at: db.raw(`case when attempts >= ? then now() end`, [maxPushAttempts]),
        next_attempt_at: db.raw(`now() + least(power(2, attempts), 3600) * (0.9 + random() * 0.2) * interval '1 second'`),
        last_error: error.slice(0, 1000),
        lease_owner: null,
        lease_until: null,
      })
      .returning('status')) as Array<{ status: 'pending' | 'dead' }>;
    return row?.status ?? null;
  },

  /** Whether this attempt still holds its lease (checked, with a row lock, before its subscription is dropped). */
  holds: async (db: Knex, delivery: Pick<LeasedPush, 'id' | 'lease_owner'>): Promise<boolean> =>
    Boolean(await db('push_deliveries').where({ id: delivery.id, lease_owner: delivery.lease_owner }).forUpdate().first('id')),

  ofUser: (db: Knex, userId: string): Promise<PushDeliveryRow[]> => db('push_deliveries').where({ user_id: userId }).orderBy('created_at'),

  /** What is finished and a week old tells nobody anything more. */
  deleteOld: (db: Knex) => db('push_deliveries').whereNot({ status: 'pending' }).andWhere('created_at', '<', db.raw("now() - interval '7 days'")).delete(),

  exportRows: (db: Knex, userId: string): Promise<Array<Pick<PushDeliveryRow, 'event_type' | 'payload' | 'status' | 'created_at' | 'finished_at'>>> =>
    db('push_deliveries').where({ user_id: userId }).orderBy('created_at').select('event_type', 'payload', 'status', 'created_at', 'finished_at'),
};
