import type { Knex } from 'knex';

export interface PendingSecondFactorRow {
  interaction_uid: string;
  user_id: string;
  amr: string[];
  expires_at: Date;
}

export const pendingSecondFactorQueries = {
  put: (db: Knex, row: PendingSecondFactorRow) =>
    db('pending_second_factors').insert({ ...row, amr: JSON.stringify(row.amr) }).onConflict('interaction_uid').merge(),
  live: (db: Knex, uid: string): Promise<PendingSecondFactorRow | undefined> =>
    db('pending_second_factors').where({ interaction_uid: uid }).andWhere('expires_at', '>', db.fn.now()).first(),
  /** Removes and returns the pending sign-in: finishing it can happen once. */
  take: async (db: Knex, uid: string): Promise<PendingSecondFactorRow | undefined> => {
    const [row] = await db('pending_second_factors').where({ interaction_uid: uid }).andWhere('expires_at', '>', db.fn.now()).delete().returning('*');
    return row as PendingSecondFactorRow | undefined;
  },
  deleteExpired: (db: Knex) => db('pending_second_factors').where('expires_at', '<=', db.fn.now()).delete(),
};
