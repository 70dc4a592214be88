import type { Knex } from 'knex';

/** A person as the provider sees them, with what they share with the asking client's service. */
export interface AccountRow {
  id: string;
  email: string;
  email_verified: boolean;
  name: string;
  updated_at: Date;
  disabled_at: Date | null;
  /** null: no choice recorded for the service (or the client has none): everything is shared. */
  share_profile: boolean | null;
  share_email: boolean | null;
}

export const accountQueries = {
  /**
   * One query (primary keys of users, clients and service_consents): findAccount runs at every
   * token response and userinfo call, and caches the answer (provider.ts); migration 090 notices
   * changes to users and to service_consents, so no cached choice outlives its change.
   */
  withSharing: (db: Knex, userId: string, clientId: string | undefined): Promise<AccountRow | undefined> =>
    db('users as u')
      .leftJoin('clients as c', (j) => j.onVal('c.client_id', clientId ?? ''))
      .leftJoin('service_consents as sc', (j) => j.on('sc.user_id', 'u.id').andOn('sc.service_id', 'c.service_id'))
      .where('u.id', userId)
      .first('u.id', 'u.email', 'u.email_verified', 'u.name', 'u.updated_at', 'u.disabled_at', 'sc.share_profile', 'sc.share_email'),
};
