import type { Knex } from 'knex';
import { DeviceSightings } from '../devices/device-sightings.ts';
import { browserOrigins } from '../catalog/client-origins.ts';
import { deviceRequestInfo, deviceRequestParams } from './device-request-info.ts';
import { recordDeviceRefreshes } from './device-last-seen.ts';
import Provider, { errors, type Adapter, type Configuration, type KoaContextWithOIDC, type ResourceServer } from 'oidc-provider';
import type { Config } from '../platform/config.ts';
import { deriveKey, type SecretBox } from '../platform/crypto/secret-box.ts';
import { CoherentCache, TtlCache } from '../platform/cache.ts';
import { loadClientMetadata, portalClientId } from '../catalog/clients.ts';
import { entitlementQueries } from '../queries/entitlements.ts';
import { serviceQueries, type ServiceRow } from '../queries/services.ts';
import { ClientAdapter, KnexModelAdapter } from './adapter.ts';
import { ShortLivedModelAdapter, shortLivedModels } from './short-lived-adapter.ts';
import type { ShortLivedStore } from '../platform/short-lived-store.ts';
import type { ModelRow } from '../queries/oidc-models.ts';
import { ModelWrites } from './model-writes.ts';
import { RegionalModelAdapter, regionalModelWrites } from './regional-adapter.ts';
import { routerOf } from '../db/regions.ts';
import { grantClaim, grantReference } from '../platform/crypto/grant-reference.ts';
import { cannotBeStored } from '../db/refused-characters.ts';
import { findAccount } from './account.ts';
import type { AccountRow } from '../queries/users.ts';
import { installMetadataCache } from './cached-metadata.ts';
import { isDatabaseUnavailable } from '../db/unavailable.ts';
import { installUnavailableAnswer } from './unavailable-answer.ts';
import { installNotFoundPage, type ProviderPages } from './provider-pages.ts';
import { installProviderSpan } from './provider-span.ts';
import { tracingActive } from '../platform/spans.ts';
import { limitUserCodeLookups } from './device-flow-limit.ts';
import { answerAfterHeldWrites } from './held-writes.ts';
import type { Limits } from '../platform/rate-limits.ts';
import { stepUpPolicy } from './step-up-policy.ts';
import { sessionCookieFlags, sessionTtl } from '../sessions/session-policy.ts';
import type { Logger } from '../platform/logger.ts';
import type { HubMetrics } from '../platform/hub-metrics.ts';
import { installProviderMetrics } from './provider-metrics.ts';
import { keepClientsByMetadata } from './client-instances.ts';
import { locales } from '../platform/i18n.ts';
import { exchangeClaimsOf } from './exchange-claims.ts';
import { registerTokenExchange } from './token-exchange-grant.ts';

export const hubScopes = ['hub', 'events', 'entitlements', 'graph'] as const;

export interface ProviderDeps {
  config: Config;
  db: Knex;
  clientSecrets: SecretBox;
  pages: ProviderPages;
  renderError: NonNullable<Configuration['renderError']>;
  logger: Logger;
  /** Brute-force limits: device-code entry counts against the IP (src/oidc/device-flow-limit.ts). Only a hub that serves passes them. */
  limits?: Limits;
  /** Request labels, tokens issued, refresh tokens reused (src/oidc/provider-metrics.ts). Only a hub that serves passes them. */
  metrics?: Pick<HubMetrics, 'tokensIssued' | 'refreshTokenReuse'>;
  /** Where interactions live (Redis, or this instance's memory): src/oidc/short-lived-adapter.ts. */
  shortLived: ShortLivedStore;
}

/** Things read on every token request, shared by every provider instance the process builds. */
export interface ProviderCaches {
  clients: TtlCache<string, Record<string, unknown>>;
  services: TtlCache<string, ServiceRow>;
  /** Tokens, grants and sessions, kept true by the database's change notices (src/db/change-feed.ts). */
  models: CoherentCache<ModelRow>;
  /** What findAccount reads of a person for a client (kept true the same way). */
  accounts: CoherentCache<AccountRow>;
}

export const createProviderCaches = (): ProviderCaches => ({
  clients: new TtlCache(30_000),
  services: new TtlCache(30_000),
  // Models have random ids that nobody knows before the row is written: a miss may be remembered.
  models: new CoherentCache(60_000, { missTtlMs: 10_000 }),
  accounts: new CoherentCache(60_000),
});

export const hubResource = (issuer: string) => `${issuer}/hub`;

/**
 * A client's metadata as the provider reads it, through the cache: the same object while the cache
 * holds it. No client has an id Postgres would refuse; such an id is not looked up.
 */
const clientMetadata =
  ({ db, clientSecrets }: ProviderDeps, caches: ProviderCaches) =>
  (id: string) =>
    cannotBeStored(id) ? Promise.resolve(undefined) : caches.clients.get(id, () => loadClientMetadata(db, clientSecrets, id));

/**
 * The provider's machine-to-machine endpoints (its default paths, set here so that they stay what
 * the hub sends past its outer app: src/web/http/provider-lane.ts). No page, route or limiter of ours
 * is on them.
 */
export const machineRoutes = {
  token: '/token',
  introspection: '/token/introspection',
  revocation: '/token/revocation',
  userinfo: '/me',
  pushed_authorization_request: '/request',
  device_authorization: '/device/auth',
} as const;

const serviceOf = (client: { [key: string]: unknown }) => client['urn:uniqverse:service'] as string | null | undefined;

export function providerConfiguration(deps: ProviderDeps, caches: ProviderCaches, jwks: { keys: unknown[] }): Configuration {
  const { config, db } = deps;
  const issuer = config.issuer;
  const hub = hubResource(issuer);
  const serviceByResource = (resource: string) => (cannotBeStored(resource) ? Promise.resolve(undefined) : caches.services.get(resource, () => serviceQueries.byResource(db, resource)));

  const router = routerOf(db);
  // With residency on, each database has its own group of writes; clients are never saved through the provider.
  const regionalWrites = router ? regionalModelWrites(router) : null;
  const modelWrites = regionalWrites?.get(null) ?? new ModelWrites(db);
  const clientAdapter = new ClientAdapter(router?.directory ?? db, clientMetadata(deps, caches), modelWrites);
  const modelAdapters = new Map<string, Adapter>();
  const adapterFor = (model: string) => {
    if (model === 'Client') return clientAdapter;
    let adapter = modelAdapters.get(model);
    if (!adapter) {
      if (shortLivedModels.has(model)) adapter = new ShortLivedModelAdapter(deps.shortLived, model);
      else adapter = router && regionalWrites ? new RegionalModelAdapter(router, model, regionalWrites) : new KnexModelAdapter(db, model, caches.models, modelWrites);
      modelAdapters.set(model, adapter);
    }
    return adapter;
  };
  const serviceBySlug = (slug: string) => caches.services.get(`slug:${slug}`, () => serviceQueries.bySlug(db, slug));

  async function getResourceServerInfo(ctx: KoaContextWithOIDC, resource: string, client: { clientId: string; [key: string]: unknown }): Promise<ResourceServer> {
    if (resource === hub) {
      return { scope: hubScopes.join(' '), audience: hub, accessTokenTTL: 3600, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } };
    }
    const service = await serviceByResource(resource);
    if (!service || service.status !== 'active') throw new errors.InvalidTarget(`unknown resource ${resource}`);
    const own = serviceOf(client) === service.slug;
    const viaClientCredentials = ctx.oidc.params?.grant_type === 'client_credentials';
    // A client may ask for its own service; a first-party client also for other services, on a person's behalf.
    if (!own && (viaClientCredentials || client['urn:uniqverse:first_party'] !== true)) {
      throw new errors.InvalidTarget(`client ${client.clientId} may not request tokens for ${resource}`);
    }
    return {
      scope: service.scopes.join(' '),
      audience: service.resource,
      accessTokenTTL: service.access_token_ttl,
      accessTokenFormat: 'jwt',
      jwt: { sign: { alg: 'ES256' } },
    };
  }

  return {
    adapter: adapterFor as never,
    routes: machineRoutes,
    clients: [
      {
        client_id: portalClientId,
        client_name: 'UniQVerse account',
        application_type: 'web',
        token_endpoint_auth_method: 'none',
        grant_types: [],
        response_types: ['none'],
        redirect_uris: [`${issuer}/account/callback`],
        post_logout_redirect_uris: [`${issuer}/`],
        'urn:uniqverse:first_party': true,
        'urn:uniqverse:service': null,
      },
    ],
    extraClientMetadata: { properties: ['urn:uniqverse:service', 'urn:uniqverse:first_party'] },
    // The token's client (or the client at hand: userinfo, the token endpoint) decides which service's privacy choice applies.
    findAccount: (ctx, sub, token) => findAccount(db, sub, (token as { clientId?: string } | undefined)?.clientId ?? ctx?.oidc?.client?.clientId, caches.accounts),
    claims: {
      // How and when the person signed in is in every ID token, asked for or not (acr_values, max_age).
      openid: ['sub', 'acr', 'amr', 'auth_time'],
      email: ['email', 'email_verified'],
      // locale: the language the person chose in the portal (en, hi, de, fr); absent until they choose.
      profile: ['name', 'updated_at', 'locale'],
      acr: null,
      amr: null,
      auth_time: null,
      sid: null,
    },
    scopes: ['openid', 'offline_access', 'email', 'profile'],
    // A device starting the device grant may say what it is (shown on the confirm page).
    extraParams: deviceRequestParams as never,
    // The languages of the sign-in pages (ui_locales) and of the one claim with a language (locale).
    discovery: { claim_types_supported: ['normal'], ui_locales_supported: [...locales], claims_locales_supported: [...locales] },
    acrValues: ['urn:uniqverse:pwd', 'urn:uniqverse:mfa'],
    clientDefaults: {
      grant_types: ['authorization_code'],
      id_token_signed_response_alg: 'RS256',
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
    // The token endpoint (and userinfo, introspection, revocation) answer a browser only at an origin its client registered.
    clientBasedCORS(ctx, origin, client) {
      return browserOrigins(client.redirectUris ?? [], client.applicationType).includes(origin);
    },
    cookies: {
      keys: [deriveKey(config.secret, 'cookie-signing').toString('base64url')],
      long: sessionCookieFlags(config.secureCookies),
      short: { signed: true, httpOnly: true, sameSite: 'lax', secure: config.secureCookies },
    },
    enabledJWA: {
      idTokenSigningAlgValues: ['RS256', 'ES256', 'EdDSA'],
      userinfoSigningAlgValues: ['RS256', 'ES256', 'EdDSA'],
      introspectionSigningAlgValues: ['RS256', 'ES256', 'EdDSA'],
      authorizationSigningAlgValues: ['RS256', 'ES256', 'EdDSA'],
      dPoPSigningAlgValues: ['ES256', 'EdDSA', 'RS256', 'PS256'],
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        // A client may introspect its own tokens, or tokens made for its own service.
        async allowedPolicy(ctx, client, token) {
          if (client.clientAuthMethod === 'none') return false;
          if (token.clientId === client.clientId) return true;
          const slug = serviceOf(client as never);
          const audience = (token as unknown as { aud?: string }).aud;
          if (!slug || !audience) return false;
          return (await serviceBySlug(slug))?.resource === audience;
        },
      },
      revocation: {
        enabled: true,
        // A client revokes only its own tokens (the provider's default, made explicit: the default logs a notice).
        allowedPolicy(ctx, client, token) {
          if (token.clientId === client.clientId) return true;
          if (client.clientAuthMethod === 'none') return false;
          throw new errors.InvalidRequest('client is not authorized to revoke the presented token');
        },
      },
      deviceFlow: {
        enabled: true,
        charset: 'base-20',
        mask: '****-****',
        userCodeInputSource: deps.pages.userCodeInput,
        userCodeConfirmSource: deps.pages.userCodeConfirm,
        successSource: deps.pages.deviceSuccess,
        deviceInfo: deviceRequestInfo,
      },
      dPoP: { enabled: true, nonceSecret: deriveKey(config.secret, 'dpop-nonce', 32) },
      pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: (ctx, client, oneOf) => oneOf ?? undefined!,
        useGrantedResource: () => true,
        getResourceServerInfo: getResourceServerInfo as never,
      },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: deps.pages.logout,
        postLogoutSuccessSource: deps.pages.postLogoutSuccess,
      },
      userinfo: { enabled: true },
    },
    async extraTokenClaims(ctx, token) {
      const audience = (token as { resourceServer?: { audience?: string } }).resourceServer?.audience;
      const grantId = (token as { grantId?: string }).grantId;
      if (audience === hub) return grantId ? { [grantClaim]: grantReference(grantId) } : undefined;
      if (!audience) return undefined;
      const service = await serviceByResource(audience);
      if (!service) return undefined;
      const accountId = (token as { accountId?: string }).accountId;
      const exchanged = exchangeClaimsOf.get(token);
      // A person's service token names its grant too, so that the service may exchange it (src/oidc/token-exchange-grant.ts) only while the grant lives.
      const grantRef = exchanged?.grantRef ?? (grantId ? grantReference(grantId) : undefined);
      return {
        entitlements: accountId ? await entitlementQueries.activeTiers(db, accountId, service.id) : [],
        ...(accountId && grantRef ? { [grantClaim]: grantRef } : {}),
        ...(exchanged ? { act: exchanged.act } : {}),
      };
    },
    issueRefreshToken: (ctx, client, code) => client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
    rotateRefreshToken: true,
    pkce: { required: () => true },
    interactions: { policy: stepUpPolicy(db), url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    renderError: deps.renderError,
    ttl: {
      AccessToken: (ctx, token) => token.resourceServer?.accessTokenTTL ?? 3600,
      AuthorizationCode: 60,
      ClientCredentials: (ctx, token) => token.resourceServer?.accessTokenTTL ?? 600,
      DeviceCode: 600,
      IdToken: 3600,
      Interaction: 3600,
      RefreshToken: 14 * 24 * 3600,
      Session: sessionTtl as never,
      Grant: 14 * 24 * 3600,
    },
    responseTypes: ['code', 'none'],
    jwks: jwks as never,
    conformIdTokenClaims: true,
  };
}

export function createProvider(deps: ProviderDeps, caches: ProviderCaches, jwks: { keys: unknown[] }): Provider {
  const provider = new Provider(deps.config.issuer, providerConfiguration(deps, caches, jwks));
  const { db } = deps;
  keepClientsByMetadata(provider, clientMetadata(deps, caches));
  registerTokenExchange(provider, {
    db,
    issuer: deps.config.issuer,
    jwks,
    hubResource: hubResource(deps.config.issuer),
    serviceByResource: (resource) => (cannotBeStored(resource) || resource.length > 2048 ? Promise.resolve(undefined) : caches.services.get(resource, () => serviceQueries.byResource(db, resource))),
    serviceBySlug: (slug) => caches.services.get(`slug:${slug}`, () => serviceQueries.bySlug(db, slug)),
  });
  provider.proxy = deps.config.trustProxy;
  // As the hub's app: behind a trusted proxy, ctx.ip is the address that proxy saw, never one the client wrote first.
  (provider as unknown as { maxIpsCount: number }).maxIpsCount = 1;
  if (tracingActive()) installProviderSpan(provider);
  if (deps.limits) limitUserCodeLookups(provider, deps.limits);
  // Outermost of our middleware: it sees every answer, also those the ones below give themselves.
  if (deps.metrics) installProviderMetrics(provider, deps.metrics);
  installMetadataCache(provider);
  recordDeviceRefreshes(provider, new DeviceSightings(deps.db), deps.logger);
  installNotFoundPage(provider, deps.renderError);
  installUnavailableAnswer(provider, deps.renderError);
  // Innermost: a held write that fails is answered as any failed write is, by the middleware above.
  answerAfterHeldWrites(provider);
  // The provider shows a server_error page and only emits the cause: without this nobody would see it.
  provider.on('server_error', (ctx, error) => {
    if (isDatabaseUnavailable(error)) return void deps.logger.warn({ err: error, method: ctx.method, path: ctx.path }, 'database unavailable: answered 503');
    deps.logger.error({ err: error, method: ctx.method, path: ctx.path, requestId: ctx.response.get('X-Request-Id') || undefined }, 'OpenID Connect provider error');
  });
  return provider;
}
