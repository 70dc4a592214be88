import createClient, { type Client } from 'openapi-fetch';
import type { paths } from './generated/schema.ts';

export type { paths as HubPaths, components as HubComponents } from './generated/schema.ts';
export type HubClient = Client<paths>;

export interface HubClientOptions {
  issuer: string;
  /** The access token to send, or a function giving the current one (called for every request). */
  accessToken: string | (() => string | Promise<string>);
  fetch?: typeof fetch;
}

/**
 * A typed client of the hub's REST API (/hub/*, /api/v1/*), generated from docs/openapi.yaml:
 * `await hub.GET('/hub/services')`, `await hub.POST('/api/v1/events', { body })`. Each call
 * answers `{ data }` or `{ error }` (the problem JSON) with the `response`.
 */
export function createHubClient(options: HubClientOptions): HubClient {
  const client = createClient<paths>({ baseUrl: options.issuer.replace(/\/$/, ''), ...(options.fetch ? { fetch: options.fetch } : {}) });
  const token = options.accessToken;
  client.use({
    async onRequest({ request }) {
      request.headers.set('authorization', `Bearer ${typeof token === 'string' ? token : await token()}`);
      return request;
    },
  });
  return client;
}
