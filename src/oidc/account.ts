import type { Knex } from 'knex';
import type { Account } from 'oidc-provider';
import { sharedClaims, type Sharing } from '../privacy/data-sharing.ts';
import type { CoherentCache } from '../platform/cache.ts';
import { accountCacheKey } from '../db/change-feed.ts';
import { userQueries, type AccountRow } from '../queries/users.ts';
import { personDirectory } from '../queries/person-directory.ts';

/**
 * The person as the provider sees them for a client: their row and what they chose to share with
 * the client's service, through the cache (kept true by the change notices) when there is one.
 */
export async function accountRow(db: Knex, sub: string, clientId?: string, cache?: CoherentCache<AccountRow>): Promise<AccountRow | undefined> {
  if (!/^[0-9a-f-]{36}$/i.test(sub)) return undefined;
  const load = () => userQueries.withSharing(db, sub, clientId);
  return cache ? cache.through(accountCacheKey(sub, clientId), load) : load();
}

/** What the person shares with the client's service: everything unless they chose otherwise. */
export const sharingOf = (user: Pick<AccountRow, 'share_profile' | 'share_email'>): Sharing => ({ profile: user.share_profile ?? true, email: user.share_email ?? true });

/**
 * The provider's view of a person: unknown or disabled accounts are not found, which ends their
 * sessions and tokens. `clientId` is the client the claims are for: what the person turned off
 * for its service on the privacy page is left out, whatever its grant says (grants made since
 * leave those scopes out already; this holds for older grants and tokens too).
 * No `preferred_username`: people have no user name here, and the email in its place went out
 * under `profile` to services the person keeps their email from.
 */
export async function findAccount(db: Knex, sub: string, clientId?: string, cache?: CoherentCache<AccountRow>): Promise<Account | undefined> {
  const user = await personDirectory.forPerson(db, sub, () => accountRow(db, sub, clientId, cache));
  if (!user || user.disabled_at) return undefined;
  const sharing = sharingOf(user);
  return {
    accountId: user.id,
    claims: () =>
      sharedClaims(
        {
          sub: user.id,
          email: user.email,
          email_verified: user.email_verified,
          name: user.name,
          updated_at: Math.floor(new Date(user.updated_at).getTime() / 1000),
          ...(user.locale ? { locale: user.locale } : {}),
        },
        sharing,
      ) as { sub: string },
  };
}
