import type http from 'node:http';
import type { Context, Next } from 'koa';
import type { HubMetrics } from '../../platform/hub-metrics.ts';
import { labelRoute, labelService, routeLabelOf, serviceLabelOf } from '../../platform/request-labels.ts';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

const startedAt = Symbol('uniqverse.startedAt');
type TimedResponse = http.ServerResponse & { [startedAt]?: number };

const methods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];
const codes = ['1xx', '2xx', '3xx', '4xx', '5xx'];

type Labels = { route: string; service: string; method: string; code: string };

/**
 * One labels object per series, made the first time it is seen and kept: a request costs a few map
 * look-ups and the histogram's observe. Routes and services come from bounded sets (templates,
 * registered clients), so this stays as small as the series themselves.
 */
class SeriesLabels {
  private readonly byRoute = new Map<string, Map<string, Labels[]>>();

  of(route: string, service: string, method: string | undefined, status: number): Labels {
    let byService = this.byRoute.get(route);
    if (!byService) this.byRoute.set(route, (byService = new Map()));
    let series = byService.get(service);
    if (!series) byService.set(service, (series = []));
    const m = method === undefined ? -1 : methods.indexOf(method);
    const c = status >= 100 && status < 600 ? Math.floor(status / 100) - 1 : 4;
    const index = (m + 1) * codes.length + c;
    return (series[index] ??= { route, service, method: m === -1 ? 'other' : methods[m]!, code: codes[c]! });
  }
}

/**
 * Times every request the hub answers, from the moment the server hands it over until its
 * response is done (or its connection closes), by the labels left on the response: `other` for a
 * route nobody matched (a 404 adds no series), `none` for a request no registered client made.
 */
export function measureRequests(handler: Handler, metrics: Pick<HubMetrics, 'httpRequests'>): Handler {
  const series = new SeriesLabels();
  const histogram = metrics.httpRequests;
  // One function for every response (`this` is the response): no closure per request.
  function record(this: TimedResponse) {
    const seconds = (performance.now() - (this[startedAt] ?? 0)) / 1000;
    histogram.observe(series.of(routeLabelOf(this) ?? 'other', serviceLabelOf(this) ?? 'none', this.req?.method, this.statusCode), seconds);
  }
  return (req, res) => {
    (res as TimedResponse)[startedAt] = performance.now();
    // `on`, not `once`: a response closes once, and `once` would wrap the listener per request.
    res.on('close', record);
    handler(req, res);
  };
}

/**
 * Koa's share: the template of the route that matched (@koa/router's `_matchedRoute`), the static
 * files as one route, and the calling service or client of the API's authenticated callers.
 */
export async function labelKoaRequest(ctx: Context, next: Next): Promise<void> {
  try {
    await next();
  } finally {
    const route = (ctx as { _matchedRoute?: unknown })._matchedRoute;
    if (typeof route === 'string') labelRoute(ctx.res, route);
    else if (ctx.path.startsWith('/static/')) labelRoute(ctx.res, '/static/*');
    const caller = ctx.state.caller as { kind: 'service'; service: { slug: string } } | { kind: 'person'; clientId: string | null } | undefined;
    if (caller?.kind === 'service') labelService(ctx.res, caller.service.slug);
    else if (caller?.kind === 'person' && caller.clientId) labelService(ctx.res, caller.clientId);
  }
}
