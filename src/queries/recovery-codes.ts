import type { Knex } from 'knex';

export const recoveryCodeQueries = {
  replaceAll: async (db: Knex, userId: string, hashes: string[]) => {
    await db('recovery_codes').where({ user_id: userId }).delete();
    await db('recovery_codes').insert(hashes.map((code_hash) => ({ user_id: userId, code_hash })));
  },
  /**
   * Marks the code used if it is unused, looked up by any of its hashes (the current and the
   * legacy form); its row keeps `storedHash`. False when it is unknown or already spent.
   */
  use: async (db: Knex, userId: string, hashes: string[], storedHash: string): Promise<boolean> =>
    (await db('recovery_codes').where({ user_id: userId }).whereIn('code_hash', hashes).whereNull('used_at').update({ used_at: db.fn.now(), code_hash: storedHash })) > 0,
  remaining: async (db: Knex, userId: string): Promise<number> => {
    const row = await db('recovery_codes').where({ user_id: userId }).whereNull('used_at').count<{ count: string }[]>('* as count').first();
    return Number(row?.count ?? 0);
  },
  removeAll: (db: Knex, userId: string): Promise<number> => db('recovery_codes').where({ user_id: userId }).delete(),
  /** The person's codes, these columns only (never a hash): the data export. */
  exportRows: (db: Knex, userId: string, columns: string[]): Promise<Array<Record<string, unknown>>> => db('recovery_codes').where({ user_id: userId }).select(columns),
};
