import type { Knex } from 'knex';

export interface EntitlementRow {
  user_id: string;
  service_id: string;
  tier: string;
  expires_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export const entitlementQueries = {
  find: (db: Knex, userId: string, serviceId: string): Promise<EntitlementRow | undefined> =>
    db('entitlements').where({ user_id: userId, service_id: serviceId }).first(),
  /** Tiers in force now for one user at one service. */
  activeTiers: async (db: Knex, userId: string, serviceId: string): Promise<string[]> => {
    const rows = await db('entitlements')
      .where({ user_id: userId, service_id: serviceId })
      .andWhere((q) => q.whereNull('expires_at').orWhere('expires_at', '>', db.fn.now()))
      .select('tier');
    return rows.map((r: { tier: string }) => r.tier);
  },
  /** Which services each of these people holds an entitlement with. */
  servicesOf: (trx: Knex, userIds: string[]): Promise<Array<{ user_id: string; service_id: string }>> =>
    trx('entitlements').whereIn('user_id', userIds).select('user_id', 'service_id'),
  /** Grants the tier, or changes the one the person holds at the service. */
  put: (trx: Knex, row: Pick<EntitlementRow, 'user_id' | 'service_id' | 'tier' | 'expires_at'>) =>
    trx('entitlements')
      .insert(row)
      .onConflict(['user_id', 'service_id'])
      .merge({ tier: row.tier, expires_at: row.expires_at, updated_at: trx.fn.now() }),
  /** Ends the person's tier at the service; the row it removed, if there was one. */
  remove: async (trx: Knex, userId: string, serviceId: string): Promise<EntitlementRow | undefined> => {
    const [row] = await trx('entitlements').where({ user_id: userId, service_id: serviceId }).delete().returning('*');
    return row as EntitlementRow | undefined;
  },
  /**
   * Removes up to `limit` entitlements whose expiry has passed and returns them. The rows are
   * locked with SKIP LOCKED and deleted in one statement, so of two instances sweeping at once
   * each row goes to exactly one.
   */
  removeExpired: async (trx: Knex, limit: number): Promise<EntitlementRow[]> => {
    const due = trx('entitlements').where('expires_at', '<=', trx.fn.now()).select('user_id', 'service_id').limit(limit).forUpdate().skipLocked();
    const rows = await trx('entitlements').whereIn(['user_id', 'service_id'], due).delete().returning('*');
    return rows as EntitlementRow[];
  },
  /** How many people hold a tier at the service. */
  countForService: async (db: Knex, serviceId: string): Promise<number> => {
    const row = await db('entitlements').where({ service_id: serviceId }).count<{ n: string }>({ n: '*' }).first();
    return Number(row?.n ?? 0);
  },
  forUser: (db: Knex, userId: string) =>
    db('entitlements as e')
      .join('services as s', 's.id', 'e.service_id')
      .where('e.user_id', userId)
      .orderBy('s.name')
      .select('s.slug as service', 's.name as service_name', 'e.tier', 'e.expires_at', 'e.created_at', 'e.updated_at'),
};
