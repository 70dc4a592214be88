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

export const credentialFailureQueries = {
  add: async (db: Knex, kind: string, subject: string): Promise<string> => {
    const [row] = await db('credential_failures').insert({ kind, subject }).returning('id');
    return String((row as { id: string | number }).id);
  },
  remove: (db: Knex, id: string) => db('credential_failures').where({ id }).delete(),
  countSince: async (db: Knex, kind: string, subject: string, since: Date): Promise<number> => {
    const row = await db('credential_failures').where({ kind, subject }).andWhere('at', '>', since).count<{ count: string }[]>('* as count').first();
    return Number(row?.count ?? 0);
  },
  oldestSince: async (db: Knex, kind: string, subject: string, since: Date): Promise<Date | undefined> => {
    const row = await db('credential_failures').where({ kind, subject }).andWhere('at', '>', since).min<{ min: Date | null }[]>('at as min').first();
    return row?.min ? new Date(row.min) : undefined;
  },
  deleteOlderThan: (db: Knex, before: Date) => db('credential_failures').where('at', '<', before).delete(),
};
