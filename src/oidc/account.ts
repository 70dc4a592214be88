import type { Knex } from 'knex';
import type { Account } from 'oidc-provider';
import { userQueries } from '../identity/user-queries.ts';

/** The provider's view of a person: unknown or disabled accounts are not found, which ends their sessions and tokens. */
export async function findAccount(db: Knex, sub: string): Promise<Account | undefined> {
  if (!/^[0-9a-f-]{36}$/i.test(sub)) return undefined;
  const user = await userQueries.byId(db, sub);
  if (!user || user.disabled_at) return undefined;
  return {
    accountId: user.id,
    claims: () => ({
      sub: user.id,
      email: user.email,
      email_verified: user.email_verified,
      name: user.name,
      preferred_username: user.email,
      updated_at: Math.floor(new Date(user.updated_at).getTime() / 1000),
    }),
  };
}
