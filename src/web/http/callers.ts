import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Knex } from 'knex';
import { clientQueries } from '../../queries/clients.ts';
import { serviceQueries, type ServiceRow } from '../../queries/services.ts';
import { userQueries, type UserRow } from '../../queries/users.ts';
import { personDirectory } from '../../queries/person-directory.ts';
import { grantQueries } from '../../queries/oidc-models.ts';
import { AppError } from '../../platform/errors.ts';
import type { ProviderHolder } from '../../oidc/provider-holder.ts';
import { InvalidToken, verifyDpopProof, type HubTokenClaims, type HubTokenVerifier } from '../../oidc/hub-token.ts';

/** A person (through a device app's token, or the portal's session cookie) or a service acting as itself. */
export type Caller =
  | { kind: 'person'; user: UserRow; via: 'bearer' | 'session'; clientId: string | null; claims: HubTokenClaims | null; session?: PortalSession }
  | { kind: 'service'; service: ServiceRow; clientId: string; claims: HubTokenClaims };

/** What the portal's session says about the sign-in behind a cookie caller. */
export interface PortalSession {
  jti: string;
  /** The session's uid: what the portal's CSRF tokens are bound to (src/web/http/csrf.ts). */
  uid: string;
  /** Seconds since epoch of the last full sign-in. */
  loginTs: number;
  amr: string[];
  acr: string | undefined;
  /** Seconds since epoch when the session ends (as read; the portal may move it later). */
  exp: number | undefined;
}

export interface CallerDeps {
  db: Knex;
  verifier: HubTokenVerifier;
  holder: ProviderHolder;
  issuer: string;
}

/** "Bearer x" or "DPoP x" → the token, or null when the request carries none. */
export function accessTokenOf(authorization: string | undefined): { scheme: 'Bearer' | 'DPoP'; token: string } | null {
  const match = /^(Bearer|DPoP)\s+([\w.~+/-]+=*)\s*$/i.exec(authorization ?? '');
  if (!match) return null;
  return { scheme: match[1]!.toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer', token: match[2]! };
}

/** The caller behind an access token for the hub API, or null when there is no token. Throws InvalidToken. */
export async function bearerCaller(deps: CallerDeps, req: IncomingMessage, path: string): Promise<Caller | null> {
  const authorization = req.headers.authorization;
  if (!authorization) return null;
  const presented = accessTokenOf(authorization);
  if (!presented) throw new InvalidToken('Send the access token as "Authorization: Bearer <token>".', 'Bearer', 'invalid_request');
  const claims = await deps.verifier.verify(presented.token);
  if (claims.cnf?.jkt) {
    const proof = req.headers.dpop;
    await verifyDpopProof(typeof proof === 'string' ? proof : undefined, presented.token, claims.cnf.jkt, req.method ?? 'GET', `${deps.issuer}${path}`);
  }
  if (claims.isClient) {
    const client = await clientQueries.byId(deps.db, claims.client_id);
    const service = client?.service_id ? await serviceQueries.byId(deps.db, client.service_id) : undefined;
    if (!service || service.status !== 'active') throw new InvalidToken('The client of this token belongs to no active service.');
    return { kind: 'service', service, clientId: claims.client_id, claims };
  }
  // A hub token is checked offline: its subject says whose region the request is about (data residency).
  await personDirectory.claimHomeOfPerson(deps.db, claims.sub);
  const user = await userQueries.byId(deps.db, claims.sub);
  if (!user || user.disabled_at) throw new InvalidToken('The account of this token is disabled or gone.');
  return { kind: 'person', user, via: 'bearer', clientId: claims.client_id, claims };
}

/** The person signed in to the portal in this browser (the provider's own session cookie), or null. */
export async function sessionCaller(deps: CallerDeps, req: IncomingMessage, res: ServerResponse): Promise<Caller | null> {
  if (!req.headers.cookie) return null;
  const session = await deps.holder.current.Session.get({ req, res } as never);
  if (!session.accountId) return null;
  const user = await userQueries.byId(deps.db, session.accountId);
  if (!user || user.disabled_at) return null;
  const portal: PortalSession = {
    jti: session.jti,
    uid: session.uid,
    loginTs: session.loginTs ?? 0,
    amr: (session.amr as string[] | undefined) ?? [],
    acr: session.acr as string | undefined,
    exp: session.exp,
  };
  return { kind: 'person', user, via: 'session', clientId: null, claims: null, session: portal };
}

/**
 * A person's hub token where the hub's API takes one (/graphql, /gateway): it has the "hub" scope
 * (else 403 with the challenge that says so) and its grant is still held (else 401); the device
 * behind it was seen now. The answer's headers are set through `setHeader`.
 */
export async function requireHubScope(
  deps: CallerDeps & { sightings: { seen(userId: string, grantRef: string): Promise<void> } },
  bearer: Extract<Caller, { kind: 'person' }>,
  setHeader: (name: string, value: string) => void,
): Promise<void> {
  if (!bearer.claims?.scopes.has('hub')) {
    setHeader('WWW-Authenticate', 'Bearer error="insufficient_scope", scope="hub"');
    throw new AppError('forbidden', 'The access token lacks the "hub" scope.');
  }
  const grantRef = bearer.claims.grantRef;
  if (!grantRef) return;
  if (!(await grantQueries.held(deps.db, bearer.user.id, bearer.claims.client_id, grantRef))) throw new InvalidToken('The access token was revoked: sign in again.');
  await deps.sightings.seen(bearer.user.id, grantRef);
}
