import type http from 'node:http';
import { sendCachedMetadata, type Cached } from '../../oidc/cached-metadata.ts';
import { labelRoute } from '../../platform/request-labels.ts';
import { requestIdFrom, securityHeaderList } from './security-headers.ts';
import { nameActiveServerSpan } from '../../platform/spans.ts';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/**
 * Sends requests for `paths` (the provider's token, userinfo, introspection, revocation, PAR and
 * device-authorization endpoints: `machineRoutes`) straight to the provider with the security
 * headers, past the outer Koa app, whose context, middleware, static mounts and routers do nothing
 * for them but cost time on every call (docs/benchmarks.md). The provider answers their errors
 * itself. Discovery and JWKS, once cached (`cachedMetadata`), are answered here. Everything else
 * goes to the app.
 */
export function withProviderLane(
  app: Handler,
  provider: () => Handler,
  {
    production,
    paths,
    cachedMetadata,
    throttleToken,
  }: {
    production: boolean;
    paths: Iterable<string>;
    cachedMetadata: (method: string | undefined, path: string) => Cached | undefined;
    /** /token per client (src/web/http/token-throttle.ts): false when it answered the request itself. */
    throttleToken?: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<boolean>;
  },
): Handler {
  const headers = securityHeaderList(production);
  const providerOnlyPaths = new Set(paths);
  return (req, res) => {
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    // The provider's router takes any case and a trailing slash: each spelling of /token is counted.
    const tokenRequest = req.method === 'POST' && /^\/token\/?$/i.test(path);
    const toProvider = tokenRequest || providerOnlyPaths.has(path);
    const cached = toProvider ? undefined : cachedMetadata(req.method, path);
    if (!toProvider && !cached) return app(req, res);
    const incoming = req.headers['x-request-id'];
    res.setHeader('X-Request-Id', requestIdFrom(typeof incoming === 'string' ? incoming : undefined));
    for (const [name, value] of headers) res.setHeader(name, value);
    // The provider names what it answers with its own route, in the metrics and the span; these two it may never see.
    if (cached) {
      labelRoute(res, path);
      nameActiveServerSpan(req.method, path);
      sendCachedMetadata(req, res, cached);
    } else if (throttleToken && tokenRequest) {
      labelRoute(res, '/token');
      throttleToken(req, res).then(
        (go) => go && provider()(req, res),
        () => {
          if (!res.headersSent) res.writeHead(400, { 'content-type': 'application/json; charset=utf-8' });
          res.end(JSON.stringify({ error: 'invalid_request', error_description: 'failed to read the request' }));
        },
      );
    } else provider()(req, res);
  };
}
