import { discover } from './discovery.ts';
import { HubError, responseBody } from './errors.ts';

/** A web client of your service (uniqverse clients create --type web): its id and secret. */
export interface ServiceCredentials {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Overrides the token endpoint discovery finds. */
  tokenEndpoint?: string;
  fetch?: typeof fetch;
}

/** HTTP Basic for client_secret_basic: id and secret form-encoded first (RFC 6749, section 2.3.1). */
export function basicAuthorization(credentials: Pick<ServiceCredentials, 'clientId' | 'clientSecret'>): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(credentials.clientId)}:${encode(credentials.clientSecret)}`).toString('base64')}`;
}

export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in?: number;
  scope?: string;
  issued_token_type?: string;
  refresh_token?: string;
}

/** POSTs a form to the hub's token endpoint as the client; the answer, or a HubError. */
export async function tokenRequest(credentials: ServiceCredentials, form: Record<string, string>, what: string): Promise<TokenResponse> {
  const fetchImpl = credentials.fetch ?? fetch;
  const endpoint = credentials.tokenEndpoint ?? (await discover(credentials.issuer, fetchImpl)).token_endpoint;
  const response = await fetchImpl(endpoint, {
    method: 'POST',
    headers: { authorization: basicAuthorization(credentials), 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams(form),
  });
  if (!response.ok) throw new HubError(response.status, await responseBody(response), what);
  return (await response.json()) as TokenResponse;
}

interface CachedToken {
  token: Promise<{ value: string; expiresAt: number }>;
}

const cache = new Map<string, CachedToken>();
/** A token is used until this long before it expires, so it does not run out on the way. */
const earlyMs = 30_000;

/**
 * A client-credentials access token for `resource` and `scope`, cached until shortly before it
 * expires (callers at the same time share one request). `forget` drops it after a 401.
 */
export async function clientCredentialsToken(credentials: ServiceCredentials, resource: string, scope: string): Promise<string> {
  const key = JSON.stringify([credentials.issuer, credentials.clientId, resource, scope]);
  const cached = cache.get(key);
  if (cached) {
    const token = await cached.token.catch(() => null);
    if (token && token.expiresAt - earlyMs > Date.now()) return token.value;
    if (cache.get(key) === cached) cache.delete(key);
  }
  const entry: CachedToken = {
    token: tokenRequest(credentials, { grant_type: 'client_credentials', resource, scope }, 'Client credentials').then((answer) => ({
      value: answer.access_token,
      expiresAt: Date.now() + (answer.expires_in ?? 60) * 1000,
    })),
  };
  cache.set(key, entry);
  entry.token.catch(() => {
    if (cache.get(key) === entry) cache.delete(key);
  });
  return (await entry.token).value;
}

export function forgetClientCredentialsToken(credentials: ServiceCredentials, resource: string, scope: string): void {
  cache.delete(JSON.stringify([credentials.issuer, credentials.clientId, resource, scope]));
}
