import type { Knex } from 'knex';
import type Provider from 'oidc-provider';
import type { InteractionResults } from 'oidc-provider';
import { accountRow, sharingOf } from '../../oidc/account.ts';
import type { CoherentCache } from '../../platform/cache.ts';
import { withheldBy } from '../../privacy/data-sharing.ts';
import type { AccountRow } from '../../queries/users.ts';
import type { Interaction } from './interaction-result.ts';

/** The scopes that are the person's OpenID data, not a resource's; offline_access is left to the consent step. */
const openIdScopes = new Set(['openid', 'email', 'profile']);

/**
 * A first-party service's sign-in asks for no consent (the consent step would grant it silently):
 * its grant is made with the sign-in itself, so the browser goes straight back to the service,
 * two requests sooner. It grants exactly what the consent step would (grantRequested): what the
 * request asks for, less what the person withheld from the service on the privacy page. What it
 * does not cover (a `claims` parameter, offline_access, prompt=consent, a grant the session
 * already holds) still brings the consent step, which decides as before.
 */
export async function withFirstPartyConsent(
  provider: Provider,
  db: Knex,
  interaction: Interaction,
  login: InteractionResults,
  accounts?: CoherentCache<AccountRow>,
): Promise<InteractionResults> {
  const { params } = interaction;
  const accountId = (login.login as { accountId?: string } | undefined)?.accountId;
  if (!accountId || interaction.grantId || typeof params.client_id !== 'string') return login;
  if (String(params.prompt ?? '').split(' ').includes('consent')) return login;
  const client = await provider.Client.find(params.client_id);
  if (client?.['urn:uniqverse:first_party' as never] !== true) return login;
  // The session's account before this sign-in may be someone else's: the grant is for whoever signed in now.
  if (interaction.session?.accountId && interaction.session.accountId !== accountId) return login;
  // Through the provider's account cache: the token request after this reads the same row for the ID token's claims.
  const person = await accountRow(db, accountId, params.client_id, accounts);
  if (!person) return login;
  const withheld = withheldBy(sharingOf(person));
  const asked = String(params.scope ?? '').split(' ').filter(Boolean);
  const grant = new provider.Grant({ accountId, clientId: params.client_id });
  const openId = asked.filter((scope) => openIdScopes.has(scope) && !withheld.scopes.includes(scope));
  if (openId.length) grant.addOIDCScope(openId.join(' '));
  if (withheld.scopes.length) grant.rejectOIDCScope(withheld.scopes.join(' '));
  if (withheld.claims.length) grant.rejectOIDCClaims(withheld.claims);
  const resources = (Array.isArray(params.resource) ? params.resource : [params.resource]).filter((r): r is string => typeof r === 'string' && r.length > 0);
  const resourceScopes = asked.filter((scope) => !openIdScopes.has(scope) && scope !== 'offline_access');
  for (const resource of resources) grant.addResourceScope(resource, resourceScopes.join(' '));
  return { ...login, consent: { grantId: await grant.save() } };
}
