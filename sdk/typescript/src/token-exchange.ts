import { tokenRequest, type ServiceCredentials, type TokenResponse } from './client-credentials.ts';

export const tokenExchangeGrant = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const accessTokenType = 'urn:ietf:params:oauth:token-type:access_token';

export interface ExchangeTokenRequest {
  /** The access token the person's request came with (made for your service). */
  subjectToken: string;
  /** The resource of the service to call on the person's behalf, e.g. "urn:veze:service:vezepysports". */
  resource: string;
  /** Space-separated scopes to ask for at that service (default: what the hub grants). */
  scope?: string;
}

/**
 * RFC 8693 token exchange at the hub's token endpoint, as your web client: trades a person's access
 * token for one made for another service's resource, so you can call that service for them.
 * Returns the token response (`access_token`, `issued_token_type`, `expires_in`, `scope`).
 */
export function exchangeToken(credentials: ServiceCredentials, request: ExchangeTokenRequest): Promise<TokenResponse> {
  return tokenRequest(
    credentials,
    {
      grant_type: tokenExchangeGrant,
      subject_token: request.subjectToken,
      subject_token_type: accessTokenType,
      resource: request.resource,
      ...(request.scope ? { scope: request.scope } : {}),
    },
    'Token exchange',
  );
}
