import type { Configuration } from 'oidc-provider';
import type { Views } from '../../platform/views.ts';
import { render } from '../http/render.ts';

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
    // The provider has set the status (its error's, 404, or 503 from src/oidc/unavailable-answer.ts).
    render(ctx, views, 'error.njk', {
      title: code === 'not_found' ? 'Page not found' : 'That did not work',
      message: friendly[code] ?? (detail || 'Something went wrong with this sign-in.'),
      // The provider's own words (English, for the app's developer) stay apart from ours, which are translated.
      detail: friendly[code] ? detail : '',
      code,
    }, ctx.status);
  };
}
