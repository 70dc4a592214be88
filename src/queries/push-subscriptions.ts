import type { Knex } from 'knex';

export type PushKind = 'webpush' | 'apns' | 'fcm';

export interface PushSubscriptionRow {
  id: string;
  user_id: string;
  device_id: string | null;
  kind: PushKind;
  endpoint: string;
  p256dh: string | null;
  auth: string | null;
  label: string;
  enabled: boolean;
  created_at: Date;
  last_success_at: Date | null;
  failure_count: number;
}

/** A subscription as delivery needs it: with its device's grant reference, to ask whether that device is connected. */
export type ReachableSubscription = PushSubscriptionRow & { grant_ref: string | null };

export const pushSubscriptionQueries = {
  /**
   * Saves a subscription: one row per push endpoint (or device token). A browser that subscribes
   * again, maybe for another person on a shared computer, moves its one row to the new owner.
   */
  upsert: async (db: Knex, row: Pick<PushSubscriptionRow, 'user_id' | 'device_id' | 'kind' | 'endpoint' | 'p256dh' | 'auth' | 'label'>): Promise<{ row: PushSubscriptionRow; created: boolean; previousUserId: string | null }> => {
    const before = (await db('push_subscriptions').where({ kind: row.kind, endpoint: row.endpoint }).forUpdate().first()) as PushSubscriptionRow | undefined;
    const [saved] = await db('push_subscriptions')
      .insert(row)
      .onConflict(['kind', 'endpoint'])
      .merge({ ...row, enabled: true, failure_count: 0 })
      .returning('*');
    return { row: saved as PushSubscriptionRow, created: !before, previousUserId: before && before.user_id !== row.user_id ? before.user_id : null };
  },

  byId: (db: Knex, userId: string, id: string): Promise<PushSubscriptionRow | undefined> => db('push_subscriptions').where({ id, user_id: userId }).first(),

  byEndpoint: (db: Knex, userId: string, kind: PushKind, endpoint: string): Promise<PushSubscriptionRow | undefined> =>
    db('push_subscriptions').where({ user_id: userId, kind, endpoint }).first(),

  ofUser: (db: Knex, userId: string): Promise<PushSubscriptionRow[]> => db('push_subscriptions').where({ user_id: userId }).orderBy('created_at'),

  ofDevice: (db: Knex, userId: string, deviceId: string): Promise<PushSubscriptionRow[]> => db('push_subscriptions').where({ user_id: userId, device_id: deviceId }).orderBy('created_at'),

  /** The person's switched-on subscriptions, each with its device's grant reference; never one of a removed device. */
  reachable: (db: Knex, userId: string): Promise<ReachableSubscription[]> =>
    db('push_subscriptions as p')
      .leftJoin('devices as d', 'd.id', 'p.device_id')
      .where({ 'p.user_id': userId, 'p.enabled': true })
      .andWhere((q) => q.whereNull('p.device_id').orWhereNull('d.revoked_at'))
      .select('p.*', 'd.grant_ref'),

  /**
   * SQL selecting, of `people` (an SQL `uuid[]` expression), those with a subscription `reachable`
   * would give: for the relay's claim (src/queries/outbox.ts), which runs it once per batch.
   */
  reachableAmong: (people: string) =>
    `select distinct p.user_id from push_subscriptions p left join devices d on d.id = p.device_id
      where p.user_id = any(${people}) and p.enabled and (p.device_id is null or d.revoked_at is null)`,

  /** Every subscription the person has, on or off, but those of removed devices. */
  listed: (db: Knex, userId: string): Promise<PushSubscriptionRow[]> =>
    db('push_subscriptions as p')
      .leftJoin('devices as d', 'd.id', 'p.device_id')
      .where({ 'p.user_id': userId })
      .andWhere((q) => q.whereNull('p.device_id').orWhereNull('d.revoked_at'))
      .orderBy('p.created_at')
      .select('p.*'),

  /** A removed device is reached no more: its subscriptions go with it. */
  deleteOfDevice: (db: Knex, deviceId: string): Promise<number> => db('push_subscriptions').where({ device_id: deviceId }).delete(),

  setEnabled: (db: Knex, userId: string, id: string, enabled: boolean): Promise<number> => db('push_subscriptions').where({ id, user_id: userId }).update({ enabled }),

  delete: (db: Knex, id: string): Promise<number> => db('push_subscriptions').where({ id }).delete(),

  succeeded: (db: Knex, id: string) => db('push_subscriptions').where({ id }).update({ last_success_at: db.fn.now(), failure_count: 0 }),

  failed: (db: Knex, id: string) => db('push_subscriptions').where({ id }).increment('failure_count', 1),

  /** For the person's data export: where the hub may push to, never the endpoint or its keys (they let anyone push). */
  exportRows: (db: Knex, userId: string): Promise<Array<Pick<PushSubscriptionRow, 'kind' | 'label' | 'enabled' | 'created_at' | 'last_success_at'>>> =>
    db('push_subscriptions').where({ user_id: userId }).orderBy('created_at').select('kind', 'label', 'enabled', 'created_at', 'last_success_at'),
};
