import type { Knex } from 'knex';

export interface AdminUserRow {
  id: string;
  email: string;
  name: string;
  is_admin: boolean;
  email_verified: boolean;
  disabled_at: Date | null;
  created_at: Date;
}

const columns = ['id', 'email', 'name', 'is_admin', 'email_verified', 'disabled_at', 'created_at'];

export const userAdminQueries = {
  /** People whose email or name contains the search, newest first (a query to page). */
  search: (db: Knex, q: string) => {
    const query = db('users').orderBy('created_at', 'desc').orderBy('id').select(columns);
    if (q) {
      const like = `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      query.where((w) => w.whereILike('email', like).orWhereILike('name', like));
    }
    return query;
  },
  byId: (db: Knex, id: string): Promise<AdminUserRow | undefined> => db('users').where({ id }).first(columns),
  setDisabled: (db: Knex, id: string, at: Date | null) => db('users').where({ id }).update({ disabled_at: at, updated_at: db.fn.now() }),
  counts: async (db: Knex) => {
    const row = await db('users').first(db.raw('count(*)::int as users'), db.raw('count(*) filter (where disabled_at is not null)::int as disabled'), db.raw('count(*) filter (where is_admin)::int as admins'));
    return row as { users: number; disabled: number; admins: number };
  },
};
