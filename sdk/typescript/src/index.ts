/**
 * @veze/uniqverse: what a VEZE service needs from the UniQVerse hub (docs/integrating.md, "SDKs").
 */
export { createHubClient, type HubClient, type HubClientOptions, type HubPaths, type HubComponents } from './hub-client.ts';
export { verifyServiceToken, InvalidServiceTokenError, type ServiceTokenClaims, type VerifyServiceTokenOptions } from './service-token.ts';
export { verifyWebhook, WebhookVerificationError, type HubEvent, type WebhookHeaders, type VerifyWebhookOptions } from './webhooks.ts';
export { postEvent, hubResource, type PostedEvent } from './post-event.ts';
export { followEvents, StreamRevokedError, type FollowEventsOptions } from './follow-events.ts';
export { exchangeToken, tokenExchangeGrant, accessTokenType, type ExchangeTokenRequest } from './token-exchange.ts';
export { clientCredentialsToken, basicAuthorization, type ServiceCredentials, type TokenResponse } from './client-credentials.ts';
export { discover, type HubMetadata } from './discovery.ts';
export { HubError } from './errors.ts';
