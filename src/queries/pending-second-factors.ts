import type { Knex } from 'knex';

export interface PendingSecondFactorRow {
  interaction_uid: string;
  user_id: string;
  amr: string[];
  expires_at: Date;
}

export const pendingSecondFactorQueries = {
  /** The data export: sign-ins waiting for a second factor. */
  exportRows: (db: Knex, userId: string): Promise<Array<Record<string, unknown>>> => db('pending_second_factors').where({ user_id: userId }).orderBy('expires_at').select('amr', 'expires_at'),
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

/** Which second factors a person has, in one statement: it is read on every password sign-in. */
export const secondFactorSummaryQuery = async (db: Knex, userId: string): Promise<{ totp: boolean; passkeys: number; recoveryCodes: number }> => {
  const row = (await db
    .select(
      db.raw('exists (select 1 from totp_factors where user_id = ? and confirmed_at is not null) as totp', [userId]),
      db.raw('(select count(*) from passkeys where user_id = ?)::int as passkeys', [userId]),
      db.raw('(select count(*) from recovery_codes where user_id = ? and used_at is null)::int as recovery_codes', [userId]),
    )
    .first()) as { totp: boolean; passkeys: number; recovery_codes: number };
  return { totp: row.totp, passkeys: row.passkeys, recoveryCodes: row.recovery_codes };
};
