import type { Knex } from 'knex';

/** Changes to a user's row and to everything the provider holds for them, made by this area (verification, reset, disabling). */
export const accountQueries = {
  /** How many sessions the provider holds for the account (before they are ended). */
  countSessions: async (trx: Knex, userId: string): Promise<number> => {
    const [row] = await trx('oidc_models').where({ model: 'Session', account_id: userId }).count<{ count: string | number }[]>('* as count');
    return Number(row?.count ?? 0);
  },
  /**
   * Ends everything the provider holds for the account at once: sessions, grants, refresh and
   * opaque access tokens, codes. Every such row carries the account id (the adapter files it).
   */
  endProviderState: (trx: Knex, userId: string) => trx('oidc_models').where({ account_id: userId }).delete(),
};
