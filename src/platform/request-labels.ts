import type http from 'node:http';

const routeOf = Symbol('uniqverse.route');
const serviceOf = Symbol('uniqverse.service');

/**
 * What the parts that know a request (the Koa routers, the provider, the provider lane) leave on
 * its response for the request metrics (src/web/http/request-metrics.ts): kept on the response
 * itself, so that no part needs another's context and a request allocates nothing for it.
 */
type LabelledResponse = http.ServerResponse & { [routeOf]?: string; [serviceOf]?: string };

/** The route template that answered (a router's matched path, never the raw path). */
export function labelRoute(res: http.ServerResponse, route: string): void {
  (res as LabelledResponse)[routeOf] = route;
}

/** The registered service (its slug) or client (its id) that made the request. */
export function labelService(res: http.ServerResponse, service: string): void {
  (res as LabelledResponse)[serviceOf] = service;
}

export const routeLabelOf = (res: http.ServerResponse): string | undefined => (res as LabelledResponse)[routeOf];
export const serviceLabelOf = (res: http.ServerResponse): string | undefined => (res as LabelledResponse)[serviceOf];
