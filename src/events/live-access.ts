import type { IncomingMessage, ServerResponse } from 'node:http';
import { adminMaxAgeSeconds } from '../admin/routes.ts';
import { signedInWithSecondFactor } from '../admin/second-factor.ts';
import { bearerCaller, sessionCaller, type Caller, type CallerDeps } from '../api/callers.ts';
import { InvalidToken } from '../api/hub-token.ts';
import { AppError } from '../errors.ts';
import { needsSecondFactor } from '../identity/second-factor.ts';
import type { Viewer } from './live-connection.ts';

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

/** Who may listen: a person (portal cookie or a token with the "hub" scope); the admin console may ask for everything. */
export async function viewerFor(deps: CallerDeps, req: IncomingMessage, res: ServerResponse, wantAll: boolean): Promise<{ viewer: Viewer; via: 'bearer' | 'session' }> {
  const caller = (await bearerCaller(deps, req, '/hub/events')) ?? (await sessionCaller(deps, req, res));
  if (!caller) throw new InvalidToken(`Sign in to the portal, or send an access token for ${deps.verifier.audience}.`, 'Bearer', 'invalid_request');
  if (caller.kind === 'service') throw new AppError('forbidden', 'Services receive events through webhooks, not /hub/events.');
  if (caller.claims && !caller.claims.scopes.has('hub')) throw new AppError('forbidden', 'The access token lacks the "hub" scope.');
  if (wantAll) await mayWatchEverything(deps, caller);
  return { viewer: { userId: caller.user.id, all: wantAll }, via: caller.via };
}
