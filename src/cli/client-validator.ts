import { MemoryShortLivedStore } from '../platform/short-lived-store.ts';
import type { ClientMetadataValidator } from '../catalog/clients.ts';
import { createViews } from '../platform/views.ts';
import { createProviderPages } from '../web/sign-in/device-flow-pages.ts';
import { providerErrorPage } from '../web/sign-in/error-page.ts';
import { createProvider, createProviderCaches } from '../oidc/provider.ts';
import { ensureSigningKeys, loadKeySet } from '../oidc/signing-keys.ts';
import { createLogger } from '../platform/logger.ts';
import type { CliContext } from './context.ts';

/**
 * Checks client metadata with node-oidc-provider's own schema, configured exactly as the hub
 * configures it (same features, grant types, response types, extra metadata, signing algs), so a
 * client the CLI registers is one the running hub will load. The provider is only built, never
 * served. It needs a key per signing alg to accept id_token_signed_response_alg, so the hub's
 * keys are made here if the hub has never started on this database (as its first start would).
 */
export async function createClientValidator(ctx: CliContext): Promise<ClientMetadataValidator> {
  await ensureSigningKeys(ctx.db, ctx.secrets.keys);
  const keys = await loadKeySet(ctx.db, ctx.secrets.keys);
  const views = createViews({ globals: { issuer: ctx.config.issuer } });
  const provider = createProvider(
    { config: ctx.config, db: ctx.db, clientSecrets: ctx.secrets.clients, pages: createProviderPages(views, { secureCookies: ctx.config.secureCookies }), renderError: providerErrorPage(views), logger: createLogger('silent'), shortLived: new MemoryShortLivedStore() },
    createProviderCaches(),
    keys.jwks,
  );
  const client = provider.Client as unknown as { validate(metadata: Record<string, unknown>): Promise<void> };
  return async (metadata) => {
    await client.validate(metadata);
  };
}
