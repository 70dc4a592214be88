import type Provider from 'oidc-provider';
import type { Configuration } from 'oidc-provider';
import type { Views } from '../../platform/views.ts';

const friendly: Record<string, string> = {
  invalid_redirect_uri: 'The app sent you here with a return address it has not registered, so we stopped before sending you anywhere.',
  invalid_client: 'The app that sent you here is not known to UniQVerse.',
  invalid_request: 'The app that sent you here made a request we cannot accept.',
  invalid_target: 'The app asked for access to a service it may not use.',
  access_denied: 'Access was denied.',
  not_found: 'There is nothing at this address.',
  session_not_found: 'This sign-in attempt has expired or belongs to another browser. Go back to the app and start again.',
};

/** The provider's error page (wrong redirect URI, unknown client, …): ours, and never a redirect. */
export function providerErrorPage(views: Views): NonNullable<Configuration['renderError']> {
  return async (ctx, out) => {
    const code = String(out.error ?? 'server_error');
    const detail = typeof out.error_description === 'string' ? out.error_description : '';
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = views.render('error.njk', {
      title: code === 'not_found' ? 'Page not found' : 'That did not work',
      message: friendly[code] ? `${friendly[code]}${detail ? ` (${detail})` : ''}` : detail || 'Something went wrong with this sign-in.',
      code,
    });
  };
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
