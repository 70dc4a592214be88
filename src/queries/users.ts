import type { Knex } from 'knex';

export interface UserRow {
  id: string;
  email: string;
  email_verified: boolean;
  name: string;
  password_hash: string | null;
  is_admin: boolean;
  disabled_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export const userQueries = {
  byId: (db: Knex, id: string): Promise<UserRow | undefined> =>
    db('users').where({ id }).first(),
  byEmail: (db: Knex, email: string): Promise<UserRow | undefined> =>
    db('users').whereRaw('lower(email) = lower(?)', [email]).first(),
  insert: async (db: Knex, row: Pick<UserRow, 'email' | 'name' | 'password_hash' | 'is_admin' | 'email_verified'>): Promise<UserRow> => {
    const [created] = await db('users').insert(row).returning('*');
    return created as UserRow;
  },
};
