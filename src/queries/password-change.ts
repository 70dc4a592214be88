import type { Knex } from 'knex';

export const passwordChangeQueries = {
  setPasswordHash: (db: Knex, userId: string, hash: string): Promise<number> =>
    db('users').where({ id: userId }).update({ password_hash: hash, updated_at: db.fn.now() }),
};
