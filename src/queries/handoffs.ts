import type { Knex } from 'knex';

export interface HandoffRow {
  id: string;
  user_id: string;
  service_id: string | null;
  client_id: string;
  from_device_id: string | null;
  what: string;
  title: string;
  url: string;
  created_at: Date;
  expires_at: Date;
  taken_at: Date | null;
  taken_by_device_id: string | null;
  taken_by_client_id: string | null;
}

export const handoffQueries = {
  insert: async (db: Knex, row: Pick<HandoffRow, 'user_id' | 'service_id' | 'client_id' | 'from_device_id' | 'what' | 'title' | 'url' | 'expires_at'>): Promise<HandoffRow> => {
    const [created] = await db('handoffs').insert(row).returning('*');
    return created as HandoffRow;
  },

  byId: (db: Knex, userId: string, id: string): Promise<HandoffRow | undefined> => db('handoffs').where({ id, user_id: userId }).first(),

  /** The person's hand-offs still to be taken, newest first. */
  open: (db: Knex, userId: string): Promise<HandoffRow[]> =>
    db('handoffs').where({ user_id: userId }).whereNull('taken_at').andWhere('expires_at', '>', db.fn.now()).orderBy('created_at', 'desc'),

  /** Takes it: of any number of takers, one gets the row, and only before it expires. */
  take: async (db: Knex, userId: string, id: string, by: { deviceId: string | null; clientId: string }): Promise<HandoffRow | undefined> => {
    const [row] = await db('handoffs')
      .where({ id, user_id: userId })
      .whereNull('taken_at')
      .andWhere('expires_at', '>', db.fn.now())
      .update({ taken_at: db.fn.now(), taken_by_device_id: by.deviceId, taken_by_client_id: by.clientId })
      .returning('*');
    return row as HandoffRow | undefined;
  },

  /** For the person's data export: what was offered and taken, never another person's. */
  exportRows: (db: Knex, userId: string): Promise<Array<Pick<HandoffRow, 'what' | 'title' | 'url' | 'created_at' | 'expires_at' | 'taken_at'>>> =>
    db('handoffs').where({ user_id: userId }).orderBy('created_at').select('what', 'title', 'url', 'created_at', 'expires_at', 'taken_at'),

  /** Hand-offs a day past their expiry are of no more use, taken or not. */
  deleteOld: (db: Knex) => db('handoffs').where('expires_at', '<', db.raw("now() - interval '1 day'")).delete(),
};
