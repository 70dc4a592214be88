import type { Knex } from 'knex';

export interface KnownDeviceRow {
  user_id: string;
  device_hash: string;
  user_agent: string | null;
  ip: string | null;
  first_seen_at: Date;
  last_seen_at: Date;
}

export const knownBrowserQueries = {
  /** The data export: each browser the person signed in from (never the cookie's hash). */
  exportRows: (db: Knex, userId: string): Promise<Array<Record<string, unknown>>> =>
    db('known_devices').where({ user_id: userId }).orderBy('first_seen_at').select('user_agent', 'ip', 'first_seen_at', 'last_seen_at'),
  /** Whether the account has signed in from the device with this cookie hash before. */
  isKnown: async (db: Knex, userId: string, browserHash: string): Promise<boolean> =>
    Boolean(await db('known_devices').where({ user_id: userId, device_hash: browserHash }).first('device_hash')),
  /** Records a sign-in from this device; says whether it is new to the account, and whether the account had none before. */
  see: async (trx: Knex, row: Pick<KnownDeviceRow, 'user_id' | 'device_hash' | 'user_agent' | 'ip'>): Promise<{ isNew: boolean; firstEver: boolean }> => {
    const updated = await trx('known_devices')
      .where({ user_id: row.user_id, device_hash: row.device_hash })
      .update({ last_seen_at: trx.fn.now(), ip: row.ip, user_agent: row.user_agent }, ['device_hash']);
    if (updated.length) return { isNew: false, firstEver: false };
    const others = await trx('known_devices').where({ user_id: row.user_id }).count<{ count: number | string }[]>('* as count');
    await trx('known_devices').insert(row).onConflict(['user_id', 'device_hash']).ignore();
    return { isNew: true, firstEver: Number(others[0]?.count ?? 0) === 0 };
  },
};
