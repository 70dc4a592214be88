import type { Knex } from 'knex';
import type Provider from 'oidc-provider';
import type { ServiceRow } from '../queries/services.ts';
import { userQueries } from '../queries/users.ts';
import { tokenExchangeGrant } from '../catalog/clients.ts';
import { exchangeClaimsOf, type ActorClaim } from './exchange-claims.ts';

export { tokenExchangeGrant } from '../catalog/clients.ts';
export const accessTokenType = 'urn:ietf:params:oauth:token-type:access_token';

/** The `act` subject of tokens the gateway (/gateway/<slug>/...) exchanges for a person. */
export const gatewayActor = (issuer: string) => `${issuer}/gateway`;

/** Why an exchange is refused, as the RFC 6749 / 8707 error the token endpoint answers with. */
export type ExchangeRefusal = 'invalid_grant' | 'invalid_target' | 'invalid_scope' | 'unauthorized_client' | 'invalid_request';

export class ExchangeRefused extends Error {
  override name = 'ExchangeRefused';
  readonly error: ExchangeRefusal;
  constructor(error: ExchangeRefusal, message: string) {
    super(message);
    this.error = error;
  }
}

export interface ServiceTokenRequest {
  /** The person the token is for (its `sub`). */
  accountId: string;
  /** The client the token is issued to (its `client_id`): the acting client, or for the gateway the client the person came through. */
  clientId: string;
  target: ServiceRow;
  /** A subset of the target's scopes; absent: all of them. */
  scope?: string[];
  actor: ActorClaim;
  /** The grant the person's token came from: the new token holds only while that grant lives. None for a portal session: the token then cannot be exchanged again. */
  grantRef?: string;
}

export interface ServiceToken {
  accessToken: string;
  expiresIn: number;
  scope: string;
  tokenType: 'Bearer';
}

/**
 * Mints an access token for a person toward a service, with an actor (RFC 8693 `act`): an ES256
 * at+jwt made by the provider like every service token (aud = the service's resource, the
 * person's `entitlements` there), for the gateway and for the token-exchange grant. Callers check
 * who may ask (the grant: the subject token and the allowed pair; the gateway: its caller).
 * Throws ExchangeRefused.
 */
export async function exchangeForService(provider: Provider, db: Knex, request: ServiceTokenRequest): Promise<ServiceToken> {
  const { target } = request;
  if (target.status !== 'active') throw new ExchangeRefused('invalid_target', `service ${target.slug} is not active`);
  const granted = new Set(target.scopes);
  const scope = request.scope ?? target.scopes;
  const unknown = scope.filter((s) => !granted.has(s));
  if (unknown.length) throw new ExchangeRefused('invalid_scope', `service ${target.slug} has no scope ${unknown.join(', ')}`);
  const user = await userQueries.byId(db, request.accountId);
  if (!user || user.disabled_at) throw new ExchangeRefused('invalid_grant', 'the account is disabled or gone');
  const client = await provider.Client.find(request.clientId);
  if (!client) throw new ExchangeRefused('invalid_grant', 'the client of the subject token is gone');

  const token = new provider.AccessToken({ accountId: user.id, client, scope: scope.join(' ') || undefined, gty: tokenExchangeGrant } as never);
  token.resourceServer = new provider.ResourceServer(target.resource, {
    scope: target.scopes.join(' '),
    audience: target.resource,
    accessTokenTTL: target.access_token_ttl,
    accessTokenFormat: 'jwt',
    jwt: { sign: { alg: 'ES256' } },
  });
  exchangeClaimsOf.set(token, { act: request.actor, ...(request.grantRef ? { grantRef: request.grantRef } : {}) });
  const accessToken = await token.save();
  return { accessToken, expiresIn: token.expiration, scope: token.scope ?? '', tokenType: 'Bearer' };
}
