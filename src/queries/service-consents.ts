import type { Knex } from 'knex';

export interface ConsentRow {
  user_id: string;
  service_id: string;
  share_profile: boolean;
  share_email: boolean;
  share_activity: boolean;
  updated_at: Date;
}

export const consentQueries = {
  /** The data export: each sharing choice, with its service's name. */
  exportRows: (db: Knex, userId: string): Promise<Array<Record<string, unknown>>> =>
    db('service_consents as c')
      .join('services as s', 's.id', 'c.service_id')
      .where('c.user_id', userId)
      .orderBy('s.name')
      .select('s.name as service', 'c.share_profile', 'c.share_email', 'c.share_activity', 'c.updated_at'),
  forUser: async (db: Knex, userId: string): Promise<Map<string, ConsentRow>> => {
    const rows: ConsentRow[] = await db('service_consents').where({ user_id: userId });
    return new Map(rows.map((r) => [r.service_id, r]));
  },
  /** The choices of several people at once (the relay's batch): person → service → choice. */
  forUsers: async (db: Knex, userIds: string[]): Promise<Map<string, Map<string, ConsentRow>>> => {
    const byUser = new Map<string, Map<string, ConsentRow>>();
    if (!userIds.length) return byUser;
    const rows: ConsentRow[] = await db('service_consents').whereIn('user_id', userIds);
    for (const row of rows) {
      let byService = byUser.get(row.user_id);
      if (!byService) byUser.set(row.user_id, (byService = new Map()));
      byService.set(row.service_id, row);
    }
    return byUser;
  },
  find: (db: Knex, userId: string, serviceId: string): Promise<ConsentRow | undefined> =>
    db('service_consents').where({ user_id: userId, service_id: serviceId }).first(),
  /** The person's choice for the service a client belongs to (none for the portal or a service without a choice). */
  forClient: (db: Knex, userId: string, clientId: string): Promise<Pick<ConsentRow, 'share_profile' | 'share_email'> | undefined> =>
    db('clients as c')
      .join('service_consents as sc', 'sc.service_id', 'c.service_id')
      .where({ 'c.client_id': clientId, 'sc.user_id': userId })
      .first('sc.share_profile', 'sc.share_email'),
  save: (db: Knex, row: Omit<ConsentRow, 'updated_at'>) =>
    db('service_consents')
      .insert(row)
      .onConflict(['user_id', 'service_id'])
      .merge({ share_profile: row.share_profile, share_email: row.share_email, share_activity: row.share_activity, updated_at: db.fn.now() }),
};
