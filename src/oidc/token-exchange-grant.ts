import type { JsonWebKey } from 'node:crypto';
import * as jose from 'jose';
import type { Knex } from 'knex';
import type Provider from 'oidc-provider';
import { errors, type TokenEndpointGrantContext } from 'oidc-provider';
import { grantClaim } from '../platform/crypto/grant-reference.ts';
import { exchangePairQueries } from '../queries/exchange-pairs.ts';
import { grantQueries } from '../queries/oidc-models.ts';
import type { ServiceRow } from '../queries/services.ts';
import type { ActorClaim } from './exchange-claims.ts';
import { publicJwk } from './hub-token.ts';
import { accessTokenType, exchangeForService, ExchangeRefused, tokenExchangeGrant } from './token-exchange.ts';

interface ExchangeParams {
  subject_token?: string;
  subject_token_type?: string;
  actor_token?: string;
  actor_token_type?: string;
  requested_token_type?: string;
  audience?: string;
  resource?: string;
  scope?: string;
}

export interface TokenExchangeDeps {
  db: Knex;
  issuer: string;
  /** The key set the provider signs with (private members are dropped here). */
  jwks: { keys: unknown[] };
  hubResource: string;
  serviceByResource(resource: string): Promise<ServiceRow | undefined>;
  serviceBySlug(slug: string): Promise<ServiceRow | undefined>;
}

interface SubjectClaims extends jose.JWTPayload {
  sub: string;
  client_id: string;
  act?: ActorClaim;
}

const refusalFor = {
  invalid_grant: errors.InvalidGrant,
  invalid_target: errors.InvalidTarget,
  invalid_scope: errors.InvalidScope,
  unauthorized_client: errors.UnauthorizedClient,
  invalid_request: errors.InvalidRequest,
} as const;

/**
 * OAuth 2.0 Token Exchange (RFC 8693) at /token: a confidential client of service A presents a
 * person's access token (their hub token, issued to this client, or a token for A itself) and
 * gets a token for that person toward service B, with `act: { sub: <client id> }`, where an
 * administrator allowed the pair A -> B (`uniqverse services allow-exchange`). The token itself
 * is made by exchangeForService (src/oidc/token-exchange.ts); this is the HTTP shell around it.
 */
export function registerTokenExchange(provider: Provider, deps: TokenExchangeDeps): void {
  const keys = jose.createLocalJWKSet({ keys: (deps.jwks.keys as JsonWebKey[]).filter((k) => k.alg === 'ES256').map(publicJwk) });

  async function verifyToken(token: string, what: string): Promise<SubjectClaims> {
    try {
      const { payload } = await jose.jwtVerify(token, keys, { issuer: deps.issuer, typ: 'at+jwt', algorithms: ['ES256'], requiredClaims: ['exp', 'sub', 'aud'], clockTolerance: 5 });
      if (typeof payload.client_id !== 'string') throw new Error('no client_id');
      return payload as SubjectClaims;
    } catch (error) {
      const reason = error instanceof jose.errors.JWTExpired ? 'has expired' : 'is invalid or was not issued by this hub';
      throw new errors.InvalidGrant(`the ${what} ${reason}`);
    }
  }

  async function targetOf(params: ExchangeParams): Promise<ServiceRow> {
    const named = params.resource ?? params.audience;
    if (!named) throw new errors.InvalidTarget('name the target service with resource (its resource URI) or audience (its resource URI or slug)');
    const byResource = await deps.serviceByResource(named);
    const target = byResource ?? (params.resource === undefined && /^[a-z][a-z0-9-]{1,39}$/.test(named) ? await deps.serviceBySlug(named) : undefined);
    if (params.resource !== undefined && params.audience !== undefined && params.audience !== target?.slug && params.audience !== target?.resource) {
      throw new errors.InvalidTarget('resource and audience name different services');
    }
    if (!target || target.status !== 'active') throw new errors.InvalidTarget(`no active service ${named}`);
    return target;
  }

  async function handler(ctx: TokenEndpointGrantContext<ExchangeParams>): Promise<void> {
    const { client, params } = ctx.oidc;
    if (client.clientAuthMethod === 'none') throw new errors.UnauthorizedClient('token exchange is for confidential clients');
    if (!params.subject_token) throw new errors.InvalidRequest('missing required parameter subject_token');
    if (params.subject_token_type !== accessTokenType) throw new errors.InvalidRequest(`subject_token_type must be ${accessTokenType}`);
    if (params.requested_token_type !== undefined && params.requested_token_type !== accessTokenType) throw new errors.InvalidRequest(`requested_token_type must be ${accessTokenType}`);

    const actingSlug = (client as unknown as Record<string, unknown>)['urn:uniqverse:service'];
    const acting = typeof actingSlug === 'string' ? await deps.serviceBySlug(actingSlug) : undefined;
    if (!acting || acting.status !== 'active') throw new errors.UnauthorizedClient('the client belongs to no active service');
    const target = await targetOf(params);
    if (target.id !== acting.id && !(await exchangePairQueries.allowed(deps.db, acting.id, target.id))) {
      throw new errors.UnauthorizedClient(`exchange from ${acting.slug} to ${target.slug} is not allowed`);
    }

    const subject = await verifyToken(params.subject_token, 'subject_token');
    if (subject.sub === subject.client_id) throw new errors.InvalidGrant('the subject_token must be a person\'s, not a client\'s own');
    const audience = Array.isArray(subject.aud) ? subject.aud : [subject.aud];
    const forHub = audience.includes(deps.hubResource) && subject.client_id === client.clientId;
    if (!forHub && !audience.includes(acting.resource)) throw new errors.InvalidGrant(`the subject_token must be issued to this client for the hub, or be for service ${acting.slug}`);
    const grantRef = subject[grantClaim];
    if (typeof grantRef !== 'string') throw new errors.InvalidGrant('the subject_token names no grant: get a new one');
    if (!(await grantQueries.held(deps.db, subject.sub, null, grantRef))) throw new errors.InvalidGrant('the subject_token was revoked or its account disabled');

    if (params.actor_token !== undefined) {
      if (params.actor_token_type !== accessTokenType) throw new errors.InvalidRequest(`actor_token_type must be ${accessTokenType}`);
      const actor = await verifyToken(params.actor_token, 'actor_token');
      if (actor.sub !== client.clientId || actor.client_id !== client.clientId) throw new errors.InvalidRequest('the actor_token must be this client\'s own (client credentials)');
    }

    try {
      const token = await exchangeForService(ctx.oidc.provider, deps.db, {
        accountId: subject.sub,
        clientId: client.clientId,
        target,
        ...(params.scope ? { scope: params.scope.split(' ').filter(Boolean) } : {}),
        actor: { sub: client.clientId, ...(subject.act ? { act: subject.act } : {}) },
        grantRef,
      });
      ctx.body = { access_token: token.accessToken, issued_token_type: accessTokenType, token_type: token.tokenType, expires_in: token.expiresIn, scope: token.scope || undefined };
    } catch (error) {
      if (error instanceof ExchangeRefused) throw new (refusalFor[error.error] as new (description: string) => Error)(error.message);
      throw error;
    }
  }

  provider.registerGrantType(tokenExchangeGrant, handler, ['subject_token', 'subject_token_type', 'actor_token', 'actor_token_type', 'requested_token_type', 'audience', 'resource', 'scope']);
}
