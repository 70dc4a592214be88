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
   * Records a sign-in from this device; says whether it is new to the account, and whether the
   * account had none before. One statement: the update of a device seen before, or the insert of
   * a new one, and the count of the account's devices as they were before it.
   */
  see: async (trx: Knex, row: Pick<KnownDeviceRow, 'user_id' | 'device_hash' | 'user_agent' | 'ip'>): Promise<{ isNew: boolean; firstEver: boolean }> => {
    const { rows }: { rows: Array<{ seen: boolean; before: number | string }> } = await trx.raw(
      `with seen as (
         update known_devices set last_seen_at = now(), ip = ?, user_agent = ?
          where user_id = ? and device_hash = ? returning 1
       ), added as (
         insert into known_devices (user_id, device_hash, user_agent, ip)
         select ?, ?, ?, ? where not exists (select 1 from seen)
         on conflict (user_id, device_hash) do nothing returning 1
       )
       select exists (select 1 from seen) as seen, (select count(*) from known_devices where user_id = ?) as before`,
      [row.ip, row.user_agent, row.user_id, row.device_hash, row.user_id, row.device_hash, row.user_agent, row.ip, row.user_id],
    );
    const { seen, before } = rows[0]!;
    if (seen) return { isNew: false, firstEver: false };
    return { isNew: true, firstEver: Number(before) === 0 };
  },
};
