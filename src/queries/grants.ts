import type { Knex } from 'knex';

/** The provider's Grant payload, as far as the portal reads it. */
export interface GrantPayload {
  jti: string;
  accountId: string;
  clientId: string;
  openid?: { scope?: string; claims?: string[] };
  resources?: Record<string, string>;
  exp?: number;
}

export interface StoredGrant {
  id: string;
  payload: GrantPayload;
}

export const grantQueries = {
  /** A person's live grants (what each client may see about them). */
  forUser: (db: Knex, userId: string): Promise<StoredGrant[]> =>
    db('oidc_models')
      .where({ model: 'Grant', account_id: userId })
      .andWhere((q) => q.whereNull('expires_at').orWhere('expires_at', '>', db.fn.now()))
      .select('id', 'payload'),

  /** Revokes grants: each grant and everything issued under it (access and refresh tokens, codes). */
  revoke: async (trx: Knex, grantIds: string[]) => {
    if (!grantIds.length) return;
    await trx('oidc_models').whereIn('grant_id', grantIds).delete();
    await trx('oidc_models').where({ model: 'Grant' }).whereIn('id', grantIds).delete();
  },

  /** Rewrites a grant's OpenID scope (a person turned a kind of data off). */
  setScope: (trx: Knex, grantId: string, payload: GrantPayload) =>
    trx('oidc_models').where({ model: 'Grant', id: grantId }).update({ payload }),

  /** Refresh tokens of these grants (a service losing "stay connected"). */
  deleteRefreshTokens: (trx: Knex, grantIds: string[]) =>
    grantIds.length ? trx('oidc_models').where({ model: 'RefreshToken' }).whereIn('grant_id', grantIds).delete() : Promise.resolve(0),
};
