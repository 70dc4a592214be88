import type { Knex } from 'knex';

export interface TotpRow {
  user_id: string;
  secret_sealed: string;
  confirmed_at: Date | null;
  last_time_step: string | number | null;
  created_at: Date;
}

export const totpQueries = {
  forUser: (db: Knex, userId: string): Promise<TotpRow | undefined> => db('totp_factors').where({ user_id: userId }).first(),
  /** A fresh unconfirmed seed replaces an older unconfirmed one; a confirmed factor is never overwritten here. */
  putUnconfirmed: (db: Knex, userId: string, secretSealed: string) =>
    db('totp_factors')
      .insert({ user_id: userId, secret_sealed: secretSealed, confirmed_at: null, last_time_step: null, created_at: db.fn.now() })
      .onConflict('user_id')
      .merge(['secret_sealed', 'created_at', 'last_time_step'])
      .where('totp_factors.confirmed_at', null),
  confirm: async (db: Knex, userId: string, timeStep: number): Promise<boolean> =>
    (await db('totp_factors').where({ user_id: userId }).whereNull('confirmed_at').update({ confirmed_at: db.fn.now(), last_time_step: timeStep })) === 1,
  /** Records the time step of an accepted code, only if it is newer than the last one: a code works once. */
  useTimeStep: async (db: Knex, userId: string, timeStep: number): Promise<boolean> =>
    (await db('totp_factors')
      .where({ user_id: userId })
      .whereNotNull('confirmed_at')
      .andWhere((q) => q.whereNull('last_time_step').orWhere('last_time_step', '<', timeStep))
      .update({ last_time_step: timeStep })) === 1,
  remove: (db: Knex, userId: string): Promise<number> => db('totp_factors').where({ user_id: userId }).delete(),
  /** 1 when the person has a confirmed factor, else 0. */
  countConfirmed: async (db: Knex, userId: string): Promise<number> => {
    const row = await db('totp_factors').where({ user_id: userId }).whereNotNull('confirmed_at').count<{ n: string }>({ n: '*' }).first();
    return Number(row?.n ?? 0);
  },
  /** The person's factor, these columns only (never the seed): the data export. */
  exportRows: (db: Knex, userId: string, columns: string[]): Promise<Array<Record<string, unknown>>> => db('totp_factors').where({ user_id: userId }).select(columns),
};
