import type Provider from 'oidc-provider';
import type { Configuration, KoaContextWithOIDC } from 'oidc-provider';

/**
 * Provider-rendered pages (device flow, logout), drawn with our templates instead of the
 * provider's inline HTML. The web layer draws them (src/web/sign-in/device-flow-pages.ts); the composition root passes them in.
 */
export interface ProviderPages {
  userCodeInput(ctx: KoaContextWithOIDC, form: string, out?: unknown, err?: Error): Promise<void>;
  userCodeConfirm(ctx: KoaContextWithOIDC, form: string, client: { clientName?: string; clientId: string }, deviceInfo: { [key: string]: unknown }, userCode: string): Promise<void>;
  deviceSuccess(ctx: KoaContextWithOIDC): Promise<void>;
  logout(ctx: KoaContextWithOIDC, form: string): Promise<void>;
  postLogoutSuccess(ctx: KoaContextWithOIDC): Promise<void>;
}

/**
 * Every path no other route claims ends at the provider, whose unmatched paths (and wrong
 * methods on its own, such as GET /token) answered a bare text/plain "Not Found". This gives them
 * our 404 page, or an OAuth-style JSON error to a client that asks for JSON.
 */
export function installNotFoundPage(provider: Provider, renderError: NonNullable<Configuration['renderError']>): void {
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.status !== 404 || ctx.body !== undefined) return;
    ctx.status = 404;
    const out = { error: 'not_found', error_description: 'There is nothing at this address.' };
    if (ctx.accepts('html', 'json') === 'json') ctx.body = out;
    else await renderError(ctx as never, { error: 'not_found' }, undefined as never);
  });
}
