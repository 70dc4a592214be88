import type http from 'node:http';
import { requestIdFrom, securityHeaderList } from './security-headers.ts';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/**
 * Sends requests for `paths` (the provider's token, userinfo, introspection, revocation, PAR and
 * device-authorization endpoints: `machineRoutes`) straight to the provider with the security
 * headers, past the outer Koa app, whose context, middleware, static mounts and routers do nothing
 * for them but cost time on every call (docs/benchmarks.md). The provider answers their errors
 * itself. Everything else goes to the app.
 */
export function withProviderLane(app: Handler, provider: () => Handler, { production, paths }: { production: boolean; paths: Iterable<string> }): Handler {
  const headers = securityHeaderList(production);
  const providerOnlyPaths = new Set(paths);
  return (req, res) => {
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    if (!providerOnlyPaths.has(query === -1 ? url : url.slice(0, query))) return app(req, res);
    const incoming = req.headers['x-request-id'];
    res.setHeader('X-Request-Id', requestIdFrom(typeof incoming === 'string' ? incoming : undefined));
    for (const [name, value] of headers) res.setHeader(name, value);
    provider()(req, res);
  };
}
