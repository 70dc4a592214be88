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
  insert: async (db: Knex, row: Pick<DeviceRow, 'user_id' | 'client_id' | 'kind' | 'name' | 'os' | 'app_version' | 'push_token'>): Promise<DeviceRow> => {
    const [created] = await db('devices').insert(row).returning('*');
    return created as DeviceRow;
  },
  refresh: async (db: Knex, id: string, changes: Pick<DeviceRow, 'kind' | 'name' | 'os' | 'app_version' | 'client_id'>): Promise<DeviceRow> => {
    const [updated] = await db('devices').where({ id }).update({ ...changes, last_seen_at: db.fn.now() }).returning('*');
    return updated as DeviceRow;
  },
  revoke: (db: Knex, id: string) => db('devices').where({ id }).whereNull('revoked_at').update({ revoked_at: db.fn.now() }),
  countActive: async (db: Knex, userId: string): Promise<number> => {
    const row = await db('devices').where({ user_id: userId }).whereNull('revoked_at').count<{ n: string }>({ n: '*' }).first();
    return Number(row?.n ?? 0);
  },
  /** The person's devices, these columns only (never a push token): the data export. */
  exportRows: (db: Knex, userId: string, columns: string[]): Promise<Array<Record<string, unknown>>> => db('devices').where({ user_id: userId }).select(columns),
};
