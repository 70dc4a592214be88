import type { Knex } from 'knex';
import type { UserRow } from './users.ts';

export const emailChangeQueries = {
  /** The user's row, locked until the transaction ends: two confirmations of one account queue. */
  lockUser: (trx: Knex, userId: string): Promise<UserRow | undefined> =>
    trx('users').where({ id: userId }).forUpdate().first(),
  /** Another account that signs in with this address (compared as the unique index does, lower-cased). */
  otherAccountWith: (trx: Knex, email: string, userId: string): Promise<{ id: string } | undefined> =>
    trx('users').whereRaw('lower(email) = lower(?)', [email]).whereNot({ id: userId }).first('id'),
  /** The proven address becomes the sign-in address; proving it is what verifies it. */
  setEmail: (trx: Knex, userId: string, email: string) =>
    trx('users').where({ id: userId }).update({ email, email_verified: true, updated_at: trx.fn.now() }),
};
