import type { Knex } from 'knex';

export interface DeviceRow {
  id: string;
  user_id: string;
  client_id: string | null;
  kind: string;
  name: string | null;
  os: string;
  app_version: string;
  push_token: string | null;
  /** The grant its app registered it with (the provider's Grant id), and the reference its access tokens carry. */
  grant_id: string | null;
  grant_ref: string | null;
  /** The browser or device-flow session that grant came from (the provider's Session uid). */
  session_uid: string | null;
  created_at: Date;
  last_seen_at: Date;
  revoked_at: Date | null;
}

export const deviceQueries = {
  active: (db: Knex, userId: string): Promise<DeviceRow[]> =>
    db('devices').where({ user_id: userId }).whereNull('revoked_at').orderBy('last_seen_at', 'desc'),
  activeById: (db: Knex, userId: string, id: string): Promise<DeviceRow | undefined> =>
    db('devices').where({ user_id: userId, id }).whereNull('revoked_at').first(),
  byPushToken: (db: Knex, userId: string, pushToken: string): Promise<DeviceRow | undefined> =>
    db('devices').where({ user_id: userId, push_token: pushToken }).whereNull('revoked_at').first(),
  byGrantRef: (db: Knex, userId: string, grantRef: string): Promise<DeviceRow | undefined> =>
    db('devices').where({ user_id: userId, grant_ref: grantRef }).whereNull('revoked_at').first(),
  insert: async (db: Knex, row: Pick<DeviceRow, 'user_id' | 'client_id' | 'kind' | 'name' | 'os' | 'app_version' | 'push_token' | 'grant_id' | 'grant_ref' | 'session_uid'>): Promise<DeviceRow> => {
    const [created] = await db('devices').insert(row).returning('*');
    return created as DeviceRow;
  },
  refresh: async (db: Knex, id: string, changes: Pick<DeviceRow, 'kind' | 'name' | 'os' | 'app_version' | 'client_id' | 'grant_id' | 'grant_ref' | 'session_uid'>): Promise<DeviceRow> => {
    const [updated] = await db('devices').where({ id }).update({ ...changes, last_seen_at: db.fn.now() }).returning('*');
    return updated as DeviceRow;
  },
  rename: async (db: Knex, id: string, name: string): Promise<DeviceRow> => {
    const [updated] = await db('devices').where({ id }).whereNull('revoked_at').update({ name }).returning('*');
    return updated as DeviceRow;
  },
  revoke: (db: Knex, id: string) => db('devices').where({ id }).whereNull('revoked_at').update({ revoked_at: db.fn.now() }),
  /**
   * The live devices registered with this grant reference say they were seen now, unless they
   * were within the last minute (so many instances and many calls write at most once a minute).
   */
  seen: (db: Knex, userId: string, grantRef: string): Promise<number> =>
    db('devices')
      .where({ user_id: userId, grant_ref: grantRef })
      .whereNull('revoked_at')
      .andWhere('last_seen_at', '<', db.raw("now() - interval '1 minute'"))
      .update({ last_seen_at: db.fn.now() }),
  countActive: async (db: Knex, userId: string): Promise<number> => {
    const row = await db('devices').where({ user_id: userId }).whereNull('revoked_at').count<{ n: string }>({ n: '*' }).first();
    return Number(row?.n ?? 0);
  },
  /** The person's devices, these columns only (never a push token): the data export. */
  exportRows: (db: Knex, userId: string, columns: string[]): Promise<Array<Record<string, unknown>>> => db('devices').where({ user_id: userId }).select(columns),
};
