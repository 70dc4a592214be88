import type { components } from './generated/schema.ts';
import { clientCredentialsToken, forgetClientCredentialsToken, type ServiceCredentials } from './client-credentials.ts';
import { HubError } from './errors.ts';
import { createHubClient } from './hub-client.ts';

export type PostedEvent = components['schemas']['PostedEvent'];

/** The hub's own API resource: what a service's token for /api/v1/* is made for. */
export const hubResource = (issuer: string) => `${issuer.replace(/\/$/, '')}/hub`;

/**
 * Posts your service's own event about a person (`POST /api/v1/events`, type in your namespace,
 * e.g. `email.received` for vezepyemail) with a client-credentials token for the hub (scope
 * `events`), cached until shortly before it expires. Give an `id` (a UUID) to make a retry
 * idempotent. Returns the event's id; throws HubError when the hub refuses it.
 */
export async function postEvent(credentials: ServiceCredentials, event: PostedEvent): Promise<string> {
  const resource = hubResource(credentials.issuer);
  for (let attempt = 0; ; attempt++) {
    const token = await clientCredentialsToken(credentials, resource, 'events');
    const hub = createHubClient({ issuer: credentials.issuer, accessToken: token, ...(credentials.fetch ? { fetch: credentials.fetch } : {}) });
    const { data, error, response } = await hub.POST('/api/v1/events', { body: event });
    if (data) return data.id;
    // A cached token the hub no longer takes (revoked, keys rotated): get a new one, once.
    if (response.status === 401 && attempt === 0) {
      forgetClientCredentialsToken(credentials, resource, 'events');
      continue;
    }
    throw new HubError(response.status, error, 'Posting the event');
  }
}
