import { HubError, responseBody } from './errors.ts';

/** The parts of the hub's OpenID Provider metadata the helpers use. */
export interface HubMetadata {
  issuer: string;
  token_endpoint: string;
  jwks_uri: string;
}

const cache = new Map<string, Promise<HubMetadata>>();

/** `<issuer>/.well-known/openid-configuration`, fetched once per issuer (again after a failure). */
export function discover(issuer: string, fetchImpl: typeof fetch = fetch): Promise<HubMetadata> {
  const key = issuer.replace(/\/$/, '');
  let metadata = cache.get(key);
  if (!metadata) {
    metadata = (async () => {
      const response = await fetchImpl(`${key}/.well-known/openid-configuration`, { headers: { accept: 'application/json' } });
      if (!response.ok) throw new HubError(response.status, await responseBody(response), 'Discovery');
      const body = (await response.json()) as HubMetadata;
      if (body.issuer !== key) throw new Error(`Discovery: the hub calls itself ${body.issuer}, not ${key}`);
      return body;
    })();
    metadata.catch(() => cache.delete(key));
    cache.set(key, metadata);
  }
  return metadata;
}
