import type { Context, Next } from 'koa';
import { AppError } from '../../platform/errors.ts';
import { bearerCaller, sessionCaller, type Caller, type CallerDeps } from '../http/callers.ts';
import { InvalidToken } from '../../oidc/hub-token.ts';
import type { DeviceSightings } from '../../devices/device-sightings.ts';
import { grantQueries } from '../../queries/oidc-models.ts';

export type PersonCaller = Extract<Caller, { kind: 'person' }>;
export type ServiceCaller = Extract<Caller, { kind: 'service' }>;

async function withChallenge<T>(ctx: Context, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof InvalidToken) ctx.set('WWW-Authenticate', error.challenge);
    throw error;
  }
}

function missing(deps: CallerDeps): InvalidToken {
  return new InvalidToken(`Send an access token for ${deps.verifier.audience}: "Authorization: Bearer <token>".`, 'Bearer', 'invalid_request');
}

/**
 * A person's request to /hub/*: a device app's token with the "hub" scope, or (for reads only)
 * the portal's session cookie. Sets ctx.state.caller. A token's grant is read on every call (a
 * JWT verifies offline until it expires; a removed device, a sign-out everywhere or a password
 * change ends its grant), and its use moves its device's "last seen".
 */
export function personApi(deps: CallerDeps, sightings?: DeviceSightings) {
  return async function requirePerson(ctx: Context, next: Next) {
    const caller = await withChallenge(ctx, async () => {
      const found = (await bearerCaller(deps, ctx.req, ctx.path)) ?? (ctx.method === 'GET' ? await sessionCaller(deps, ctx.req, ctx.res) : null);
      if (!found) throw missing(deps);
      if (found.kind === 'service') throw new AppError('forbidden', 'This endpoint acts for a person: use a token from a person\'s sign-in, not client credentials.');
      if (found.claims && !found.claims.scopes.has('hub')) {
        ctx.set('WWW-Authenticate', 'Bearer error="insufficient_scope", scope="hub"');
        throw new AppError('forbidden', 'The access token lacks the "hub" scope.');
      }
      const grantRef = found.claims?.grantRef;
      if (found.claims && grantRef) {
        if (!(await grantQueries.held(deps.db, found.user.id, found.claims.client_id, grantRef))) throw new InvalidToken('The access token was revoked: sign in again.');
        await sightings?.seen(found.user.id, grantRef);
      }
      return found;
    });
    ctx.state.caller = caller;
    await next();
  };
}

/** A service acting as itself: a client-credentials token for the hub with the given scope. */
export function serviceApi(deps: CallerDeps, scope: string) {
  return async function requireService(ctx: Context, next: Next) {
    const caller = await withChallenge(ctx, async () => {
      const found = await bearerCaller(deps, ctx.req, ctx.path);
      if (!found) throw missing(deps);
      if (found.kind !== 'service') throw new AppError('forbidden', 'Only a service may call this, with a token from the client credentials grant.');
      if (!found.claims.scopes.has(scope)) {
        ctx.set('WWW-Authenticate', `Bearer error="insufficient_scope", scope="${scope}"`);
        throw new AppError('forbidden', `The access token lacks the "${scope}" scope.`);
      }
      return found;
    });
    ctx.state.caller = caller;
    await next();
  };
}
