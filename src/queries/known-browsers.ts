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
  /**
   * Records a sign-in from this device, as a write to send together with the sign-in's others
   * (db/write-together.ts): the insert of a new device or the update of one seen before. It returns
   * one row saying whether the device was known to the account (`seen`) and how many the account
   * had (`before`), both as they were before the statement.
   */
  see: (trx: Knex, row: Pick<KnownDeviceRow, 'user_id' | 'device_hash' | 'user_agent' | 'ip'>): Knex.Raw =>
    trx.raw(
      `insert into known_devices (user_id, device_hash, user_agent, ip) values (?, ?, ?, ?)
       on conflict (user_id, device_hash) do update set last_seen_at = now(), ip = excluded.ip, user_agent = excluded.user_agent
       returning exists (select 1 from known_devices k where k.user_id = ? and k.device_hash = ?) as seen,
                 (select count(*) from known_devices k where k.user_id = ?) as before`,
      [row.user_id, row.device_hash, row.user_agent, row.ip, row.user_id, row.device_hash, row.user_id],
    ),
  /**
   * An SQL expression, true when the device is new to an account that has signed in from another
   * before (a sign-in worth a notice), for a statement that also records the device: it reads the
   * table as it was before that statement.
   */
  newToAnAccountWithOthers: (db: Knex, userId: string, browserHash: string): Knex.Raw =>
    db.raw(
      'to_jsonb(not exists (select 1 from known_devices k where k.user_id = ? and k.device_hash = ?) and exists (select 1 from known_devices k where k.user_id = ?))',
      [userId, browserHash, userId],
    ),
};
