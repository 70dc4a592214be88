import type Provider from 'oidc-provider';
import { trace } from '@opentelemetry/api';
import { inSpan, nameServerSpan } from '../platform/spans.ts';

interface RoutedContext {
  method: string;
  _matchedRoute?: unknown;
  _matchedRouteName?: unknown;
  oidc?: { client?: { clientId?: string } };
}

/**
 * The provider's handling of a request in a span of its own, named after the provider's route
 * (`oidc token`, `oidc resume`); the request's server span takes the route's path template.
 * Installed first, so the span holds our own provider middleware too. Only when tracing is on.
 */
export function installProviderSpan(provider: Provider): void {
  provider.use(async (ctx, next) => {
    const server = trace.getActiveSpan();
    await inSpan('oidc', {}, async (span) => {
      try {
        await next();
      } finally {
        const routed = ctx as unknown as RoutedContext;
        if (typeof routed._matchedRouteName === 'string') {
          span.updateName(`oidc ${routed._matchedRouteName}`);
          span.setAttribute('oidc.route', routed._matchedRouteName);
        }
        if (routed.oidc?.client?.clientId) span.setAttribute('oauth.client_id', routed.oidc.client.clientId);
        if (server && typeof routed._matchedRoute === 'string') nameServerSpan(server, routed.method, routed._matchedRoute);
      }
    });
  });
}
