import type { Knex } from 'knex';

export interface SigningKeyRow {
  kid: string;
  alg: string;
  private_jwk_sealed: string;
  public_jwk: Record<string, unknown>;
  activates_at: Date;
  expires_at: Date | null;
  created_at: Date;
}

export const signingKeyQueries = {
  /** Serialises key changes until the transaction ends, so that two instances starting together agree. */
  lock: (trx: Knex) => trx.raw(`select pg_advisory_xact_lock(hashtext('uniqverse:signing_keys'))`),
  insert: (trx: Knex, row: Pick<SigningKeyRow, 'kid' | 'alg' | 'private_jwk_sealed' | 'public_jwk' | 'activates_at'>) => trx('signing_keys').insert(row),
  /** The algs that have a key not yet retired. */
  unretiredAlgs: async (trx: Knex): Promise<Set<string>> =>
    new Set((await trx('signing_keys').whereNull('expires_at').distinct('alg')).map((r: { alg: string }) => r.alg)),
  /** Every key not yet retired stops being published at `at`. */
  retireAll: (trx: Knex, at: Date) => trx('signing_keys').whereNull('expires_at').update({ expires_at: at }),
  /** The keys still published at `now`, newest activation first, with their sealed private keys. */
  published: (db: Knex, now: Date): Promise<Array<Pick<SigningKeyRow, 'kid' | 'alg' | 'private_jwk_sealed' | 'activates_at' | 'expires_at'>>> =>
    db('signing_keys')
      .where((q) => q.whereNull('expires_at').orWhere('expires_at', '>', now))
      .orderBy('activates_at', 'desc')
      .select('kid', 'alg', 'private_jwk_sealed', 'activates_at', 'expires_at'),
  /** Every key, newest first, without key material. */
  list: (db: Knex): Promise<Array<Pick<SigningKeyRow, 'kid' | 'alg' | 'created_at' | 'activates_at' | 'expires_at'>>> =>
    db('signing_keys').orderBy('created_at', 'desc').select('kid', 'alg', 'created_at', 'activates_at', 'expires_at'),
};
