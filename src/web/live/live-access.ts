import type { IncomingMessage, ServerResponse } from 'node:http';
import { adminMaxAgeSeconds, signedInWithSecondFactor } from '../http/admin-access.ts';
import { bearerCaller, sessionCaller, type Caller, type CallerDeps } from '../http/callers.ts';
import { InvalidToken } from '../../oidc/hub-token.ts';
import { AppError } from '../../platform/errors.ts';
import { needsSecondFactor } from '../../identity/second-factor.ts';
import { grantQueries, sessionQueries } from '../../queries/oidc-models.ts';
import { userQueries } from '../../queries/users.ts';
import type { LiveAccess, Viewer } from '../../events/live-connection.ts';
import { redeemLiveTicket } from '../../events/live-tickets.ts';

type PersonCaller = Extract<Caller, { kind: 'person' }>;

/**
 * Every person's events are the admin console's business: only its session (the portal cookie,
 * never an access token a client holds), signed in within the console's 15 minutes and with the
 * second factor when the admin has one, exactly as /admin asks.
 */
async function mayWatchEverything(deps: CallerDeps, caller: PersonCaller): Promise<void> {
  if (!caller.user.is_admin) throw new AppError('forbidden', 'Only an administrator may watch every event (all=true).');
  const session = caller.session;
  if (caller.via !== 'session' || !session) throw new AppError('forbidden', 'Every event (all=true) is for the admin console\'s sign-in, not an access token.');
  if (Date.now() / 1000 - session.loginTs > adminMaxAgeSeconds) {
    throw new AppError('forbidden', 'Every event (all=true) needs a sign-in from the last 15 minutes: open the admin console to sign in again.');
  }
  if (!signedInWithSecondFactor(session) && (await needsSecondFactor(deps.db, caller.user.id))) {
    throw new AppError('forbidden', 'Every event (all=true) needs a sign-in with your second factor (passkey or authenticator app).');
  }
}

/**
 * How an open stream learns that what let it in has ended. A bearer token: at its `exp`, or when
 * its grant goes (sign-out everywhere, a password change or reset, the account disabled or
 * deleted; a token from before the grant claim: only the account). The portal session: at its
 * expiry (read again then, as using the portal moves it), or when its row goes.
 */
export function accessOf(deps: CallerDeps, caller: PersonCaller, wantAll: boolean): LiveAccess | null {
  const userId = caller.user.id;
  if (caller.claims) {
    const { exp, grantRef, client_id: clientId } = caller.claims;
    const until = exp * 1000;
    const held = () => (grantRef ? grantQueries.held(deps.db, userId, clientId, grantRef) : userQueries.isEnabled(deps.db, userId));
    return { expiresAt: until, recheck: async () => ((await held()) ? until : false) };
  }
  const session = caller.session;
  if (!session) return null;
  // Every person's events last as long as the console's step-up (15 minutes from the sign-in).
  const cap = wantAll ? (session.loginTs + adminMaxAgeSeconds) * 1000 : null;
  const earlier = (at: number | null) => (cap === null ? at : at === null ? cap : Math.min(at, cap));
  return {
    expiresAt: earlier(session.exp ? session.exp * 1000 : null),
    recheck: async () => {
      const expiry = await sessionQueries.expiryOf(deps.db, session.jti, userId);
      return expiry === undefined ? false : earlier(expiry === null ? null : expiry.getTime());
    },
  };
}

/**
 * The caller a ticket (POST /hub/events/ticket) stands for: the token it was issued for, as far
 * as a stream needs it, taken once. It lets in exactly what that token would.
 */
async function ticketCaller(deps: CallerDeps, ticket: string): Promise<PersonCaller> {
  const holder = await redeemLiveTicket(deps.db, ticket);
  if (!holder) throw new InvalidToken('The ticket is unknown, used or expired: ask for a new one at POST /hub/events/ticket.');
  const user = await userQueries.byId(deps.db, holder.userId);
  if (!user || user.disabled_at) throw new InvalidToken('The account of this ticket is disabled or gone.');
  const claims = {
    sub: holder.userId,
    client_id: holder.clientId,
    scope: holder.scope,
    exp: holder.tokenExp,
    ...(holder.grantRef ? { grantRef: holder.grantRef } : {}),
    isClient: false,
    scopes: new Set(holder.scope.split(' ').filter(Boolean)),
  };
  return { kind: 'person', user, via: 'bearer', clientId: holder.clientId, claims };
}

/**
 * Who may listen: a person (portal cookie, a token with the "hub" scope, or a ticket issued for
 * such a token); the admin console may ask for everything.
 */
export async function viewerFor(
  deps: CallerDeps,
  req: IncomingMessage,
  res: ServerResponse,
  wantAll: boolean,
  ticket: string | null = null,
): Promise<{ viewer: Viewer; via: 'bearer' | 'session'; clientId: string | null; grantRef: string | null; access: LiveAccess | null }> {
  if (ticket !== null && req.headers.authorization) throw new AppError('invalid_input', 'Send either an access token or a ticket, not both.');
  const caller = ticket !== null ? await ticketCaller(deps, ticket) : ((await bearerCaller(deps, req, '/hub/events')) ?? (await sessionCaller(deps, req, res)));
  if (!caller) throw new InvalidToken(`Sign in to the portal, or send an access token for ${deps.verifier.audience}.`, 'Bearer', 'invalid_request');
  if (caller.kind === 'service') throw new AppError('forbidden', 'Services receive events through webhooks, not /hub/events.');
  if (caller.claims && !caller.claims.scopes.has('hub')) throw new AppError('forbidden', 'The access token lacks the "hub" scope.');
  if (wantAll) await mayWatchEverything(deps, caller);
  const access = accessOf(deps, caller, wantAll);
  // A JWT verifies offline until it expires: its grant tells whether it was revoked since.
  if (access && (await access.recheck()) === false) {
    throw caller.claims ? new InvalidToken('The access token was revoked.') : new InvalidToken('The sign-in has ended; sign in again.', 'Bearer', 'invalid_request');
  }
  return { viewer: { userId: caller.user.id, all: wantAll, grantRef: caller.claims?.grantRef ?? null, session: caller.via === 'session' }, via: caller.via, clientId: caller.clientId, grantRef: caller.claims?.grantRef ?? null, access };
}
