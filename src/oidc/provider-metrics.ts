import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { HubMetrics } from '../platform/hub-metrics.ts';
import { labelRoute, labelService } from '../platform/request-labels.ts';

/** What the provider and the adapter both say when a used refresh token comes back (the grant is then revoked). */
const refreshTokenReused = 'refresh token already used';

/** A client's service slug, else its own id (the portal): both are what administrators registered. */
const serviceOf = (client: { clientId: string; [key: string]: unknown } | undefined): string =>
  client ? ((client['urn:uniqverse:service'] as string | null | undefined) ?? client.clientId) : 'none';

/**
 * The provider's share of the hub's metrics: each request's route (the provider router's path
 * template, such as /token or /auth/:uid) and client for the request histogram, tokens issued by
 * grant type, and refresh tokens presented twice.
 */
export function installProviderMetrics(provider: Provider, metrics: Pick<HubMetrics, 'tokensIssued' | 'refreshTokenReuse'>): void {
  provider.use(async (ctx, next) => {
    try {
      await next();
    } finally {
      const route = (ctx as { _matchedRoute?: unknown })._matchedRoute;
      if (typeof route === 'string') labelRoute(ctx.res, route);
      const client = (ctx as KoaContextWithOIDC).oidc?.client;
      if (client) labelService(ctx.res, serviceOf(client as never));
    }
  });
  provider.on('grant.success', (ctx: KoaContextWithOIDC) => {
    // The provider answers only the grant types it was configured with: a bounded set.
    metrics.tokensIssued.inc({ grant_type: String(ctx.oidc.params?.grant_type), service: serviceOf(ctx.oidc.client as never) });
  });
  provider.on('grant.error', (ctx: KoaContextWithOIDC, error: { error_detail?: string }) => {
    if (error.error_detail === refreshTokenReused) metrics.refreshTokenReuse.inc({ service: serviceOf(ctx.oidc.client as never) });
  });
}
