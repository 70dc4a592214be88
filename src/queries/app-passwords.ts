import type { Knex } from 'knex';

export interface AppPasswordRow {
  id: string;
  user_id: string;
  device_name: string;
  device_type: string;
  service_id: string | null;
  /** The registered device it is for, if the person chose one: removing that device revokes it. */
  device_id: string | null;
  password_hash: string;
  created_at: Date;
  last_used_at: Date | null;
  last_ip: string | null;
  revoked_at: Date | null;
}

export interface AppPasswordListing extends Omit<AppPasswordRow, 'password_hash'> {
  service_slug: string | null;
  service_name: string | null;
}

export const appPasswordQueries = {
  insert: async (db: Knex, row: Pick<AppPasswordRow, 'user_id' | 'device_name' | 'device_type' | 'service_id' | 'device_id' | 'password_hash'>): Promise<AppPasswordRow> => {
    const [created] = await db('app_passwords').insert(row).returning('*');
    return created as AppPasswordRow;
  },
  activeForUser: (db: Knex, userId: string): Promise<AppPasswordListing[]> =>
    db('app_passwords as a')
      .leftJoin('services as s', 's.id', 'a.service_id')
      .where('a.user_id', userId)
      .whereNull('a.revoked_at')
      .orderBy('a.created_at', 'desc')
      .select('a.id', 'a.user_id', 'a.device_name', 'a.device_type', 'a.service_id', 'a.device_id', 'a.created_at', 'a.last_used_at', 'a.last_ip', 'a.revoked_at', 's.slug as service_slug', 's.name as service_name'),
  /** The live password with this hash, with its owner and service, for verification. */
  byHash: (db: Knex, hashes: string[]) =>
    db('app_passwords as a')
      .join('users as u', 'u.id', 'a.user_id')
      .leftJoin('services as s', 's.id', 'a.service_id')
      .whereIn('a.password_hash', hashes)
      .whereNull('a.revoked_at')
      .first<(AppPasswordRow & { email: string; disabled_at: Date | null; service_slug: string | null }) | undefined>(
        'a.*',
        'u.email',
        'u.disabled_at',
        's.slug as service_slug',
      ),
  revoke: (db: Knex, userId: string, id: string): Promise<AppPasswordRow[]> =>
    db('app_passwords').where({ id, user_id: userId }).whereNull('revoked_at').update({ revoked_at: db.fn.now() }).returning('*'),
  revokeForDevice: (db: Knex, userId: string, deviceId: string): Promise<AppPasswordRow[]> =>
    db('app_passwords').where({ user_id: userId, device_id: deviceId }).whereNull('revoked_at').update({ revoked_at: db.fn.now() }).returning('*'),
  revokeAll: (db: Knex, userId: string): Promise<AppPasswordRow[]> =>
    db('app_passwords').where({ user_id: userId }).whereNull('revoked_at').update({ revoked_at: db.fn.now() }).returning('*'),
  /** The person's app passwords, these columns only (never a hash): the data export. */
  exportRows: (db: Knex, userId: string, columns: string[]): Promise<Array<Record<string, unknown>>> => db('app_passwords').where({ user_id: userId }).select(columns),
  /** Records a good use; `passwordHash` replaces a hash in the legacy form. */
  markUsed: (db: Knex, id: string, ip: string | null, passwordHash?: string) =>
    db('app_passwords').where({ id }).update({ last_used_at: db.fn.now(), last_ip: ip, ...(passwordHash ? { password_hash: passwordHash } : {}) }),
};
