import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';
import { discover } from './discovery.ts';

/** What the hub puts in an access token made for a service (docs/integrating.md, section 3). */
export interface ServiceTokenClaims extends JWTPayload {
  sub: string;
  client_id: string;
  /** Space-separated scopes as granted, e.g. "read write". */
  scope?: string;
  /** The person's tiers with the service (empty: none). */
  entitlements?: string[];
}

export interface VerifyServiceTokenOptions {
  issuer: string;
  /** The service's resource, e.g. "urn:veze:service:vezepyemail". */
  audience: string;
  /** Scopes the token must carry, all of them. */
  requiredScopes?: string[];
  fetch?: typeof fetch;
}

/** The token is not one the service may accept: bad signature, wrong issuer or audience, expired, not an at+jwt, missing a scope. */
export class InvalidServiceTokenError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'InvalidServiceTokenError';
  }
}

// One key set per JWKS URL for the life of the process: jose keeps the keys, refetches on an
// unknown kid (keys rotate; never pin one) and at most every 30 s.
const keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

function keySet(jwksUri: string) {
  let set = keySets.get(jwksUri);
  if (!set) {
    set = createRemoteJWKSet(new URL(jwksUri), { cacheMaxAge: 10 * 60_000, cooldownDuration: 30_000 });
    keySets.set(jwksUri, set);
  }
  return set;
}

/**
 * Verifies an access token the hub issued for your service, offline: ES256 signature against the
 * hub's published keys, `typ: at+jwt`, issuer, audience, expiry. Returns its claims (`sub` is the
 * person). Throws InvalidServiceTokenError when it does not hold.
 */
export async function verifyServiceToken(token: string, options: VerifyServiceTokenOptions): Promise<ServiceTokenClaims> {
  const issuer = options.issuer.replace(/\/$/, '');
  const { jwks_uri } = await discover(issuer, options.fetch);
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, keySet(jwks_uri), { issuer, audience: options.audience, typ: 'at+jwt', algorithms: ['ES256'] }));
  } catch (error) {
    if (error instanceof errors.JOSEError) throw new InvalidServiceTokenError(`The access token is not valid here: ${error.message}`, { cause: error });
    throw error;
  }
  if (typeof payload.sub !== 'string') throw new InvalidServiceTokenError('The access token names no subject.');
  const granted = new Set(typeof payload.scope === 'string' ? payload.scope.split(' ') : []);
  const missing = (options.requiredScopes ?? []).filter((scope) => !granted.has(scope));
  if (missing.length) throw new InvalidServiceTokenError(`The access token lacks the scope ${missing.join(', ')}.`);
  return payload as ServiceTokenClaims;
}
