import type { Knex } from 'knex';

export interface PasskeyRow {
  id: string;
  user_id: string;
  public_key: Buffer;
  counter: string | number;
  transports: string[];
  device_type: string;
  backed_up: boolean;
  aaguid: string | null;
  name: string;
  created_at: Date;
  last_used_at: Date | null;
}

export type ChallengePurpose = 'register' | 'sign-in' | 'second-factor';

export interface ChallengeRow {
  challenge: string;
  purpose: ChallengePurpose;
  bound_to: string;
  user_id: string | null;
  expires_at: Date;
}

export const passkeyQueries = {
  forUser: (db: Knex, userId: string): Promise<PasskeyRow[]> => db('passkeys').where({ user_id: userId }).orderBy('created_at'),
  byId: (db: Knex, id: string): Promise<PasskeyRow | undefined> => db('passkeys').where({ id }).first(),
  insert: (db: Knex, row: Omit<PasskeyRow, 'created_at' | 'last_used_at'>) =>
    db('passkeys').insert({ ...row, transports: JSON.stringify(row.transports) }).onConflict('id').ignore().returning('id'),
  rename: (db: Knex, userId: string, id: string, name: string): Promise<number> => db('passkeys').where({ id, user_id: userId }).update({ name }),
  remove: (db: Knex, userId: string, id: string): Promise<PasskeyRow[]> => db('passkeys').where({ id, user_id: userId }).delete().returning('*'),
  removeAll: (db: Knex, userId: string): Promise<number> => db('passkeys').where({ user_id: userId }).delete(),
  count: async (db: Knex, userId: string): Promise<number> => {
    const row = await db('passkeys').where({ user_id: userId }).count<{ n: string }>({ n: '*' }).first();
    return Number(row?.n ?? 0);
  },
  /** The person's passkeys, these columns only (never a key): the data export. */
  exportRows: (db: Knex, userId: string, columns: string[]): Promise<Array<Record<string, unknown>>> => db('passkeys').where({ user_id: userId }).select(columns),
  /**
   * Compare-and-set of the signature counter (the library has already checked it moves forward,
   * or stays 0 for authenticators that keep none). No row updated: another assertion raced this one.
   */
  advanceCounter: async (db: Knex, id: string, seen: number, next: number): Promise<boolean> => {
    const updated = await db('passkeys')
      .where({ id })
      .andWhere('counter', seen)
      .update({ counter: next, last_used_at: db.fn.now() });
    return updated === 1;
  },
};

export const challengeQueries = {
  /** The data export: passkey ceremonies under way (never the challenge itself). */
  exportRows: (db: Knex, userId: string): Promise<Array<Record<string, unknown>>> => db('webauthn_challenges').where({ user_id: userId }).orderBy('expires_at').select('purpose', 'expires_at'),
  insert: (db: Knex, row: ChallengeRow) => db('webauthn_challenges').insert(row),
  /** Deletes and returns the challenge if it is live and was issued for this purpose and binding: single use. */
  consume: async (db: Knex, challenge: string, purpose: ChallengePurpose, boundTo: string): Promise<ChallengeRow | undefined> => {
    const [row] = await db('webauthn_challenges')
      .where({ challenge, purpose, bound_to: boundTo })
      .andWhere('expires_at', '>', db.fn.now())
      .delete()
      .returning('*');
    return row as ChallengeRow | undefined;
  },
  deleteExpired: (db: Knex) => db('webauthn_challenges').where('expires_at', '<=', db.fn.now()).delete(),
};
