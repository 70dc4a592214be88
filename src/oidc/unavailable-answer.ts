import type Provider from 'oidc-provider';
import type { Configuration } from 'oidc-provider';
import { databaseRetryAfter, databaseUnavailableMessage, isDatabaseUnavailable } from '../db/unavailable.ts';

const flag = Symbol('storage unavailable');

/**
 * The provider turns every error it did not make into a 500 server_error (or a redirect carrying
 * one to the client). When the cause is the database being out of reach, the truth is "try again
 * shortly": this answers 503 with Retry-After and `temporarily_unavailable` (RFC 6749 4.1.2.1),
 * as JSON to a client and as our page to a browser, and never redirects the browser away with it.
 */
export function installUnavailableAnswer(provider: Provider, renderError: NonNullable<Configuration['renderError']>): void {
  provider.on('server_error', (ctx, error) => {
    if (isDatabaseUnavailable(error)) (ctx.state as Record<symbol, boolean>)[flag] = true;
  });
  provider.use(async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      // Some of the provider's own steps (the session load of /auth/:uid) throw past its error handler.
      if (!isDatabaseUnavailable(error)) throw error;
      (ctx.state as Record<symbol, boolean>)[flag] = true;
    }
    if (!(ctx.state as Record<symbol, boolean>)[flag]) return;
    const out = { error: 'temporarily_unavailable', error_description: databaseUnavailableMessage };
    const json = ctx.body !== null && typeof ctx.body === 'object' && !Buffer.isBuffer(ctx.body);
    ctx.remove('Location');
    ctx.status = 503;
    ctx.set('Retry-After', String(databaseRetryAfter));
    ctx.set('Cache-Control', 'no-store');
    if (json || ctx.accepts('html', 'json') === 'json') ctx.body = out;
    else await renderError(ctx as never, out, undefined as never);
  });
}
