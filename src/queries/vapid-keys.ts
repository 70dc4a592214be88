import type { Knex } from 'knex';

export interface VapidKeyRow {
  id: string;
  public_key: string;
  private_key_sealed: string;
  created_at: Date;
}

export const vapidKeyQueries = {
  current: (db: Knex): Promise<VapidKeyRow | undefined> => db('vapid_keys').where({ id: 'current' }).first(),

  /** Stores the pair unless another instance stored one first; either way the stored one is returned. */
  insertOnce: async (db: Knex, row: Pick<VapidKeyRow, 'public_key' | 'private_key_sealed'>): Promise<VapidKeyRow> => {
    await db('vapid_keys').insert({ id: 'current', ...row }).onConflict('id').ignore();
    return (await db('vapid_keys').where({ id: 'current' }).first()) as VapidKeyRow;
  },
};
