import type { Context } from 'koa';
import { safeEqual } from '../../platform/crypto/tokens.ts';
import { AppError } from '../../platform/errors.ts';
import { bearerCaller, requireHubScope, sessionCaller, type Caller, type CallerDeps } from '../http/callers.ts';

export type PersonCaller = Extract<Caller, { kind: 'person' }>;

export interface GatewayCallerDeps extends CallerDeps {
  /** The portal's CSRF token for a session uid (src/web/http/csrf.ts). */
  csrfTokenFor: (sessionUid: string) => string;
  /** CORS per client (src/web/api/hub-cors.ts): another origin only with a token of a client registered there. */
  cors: { allow(ctx: Context, clientId: string | null): Promise<void> };
  /** A device's "last seen" moves when its token is used. */
  sightings: { seen(userId: string, grantRef: string): Promise<void> };
}

/**
 * Who calls /gateway/*: a person, by a hub token (scope "hub", its grant still held) or by the
 * portal's session cookie (anything but GET with the portal's CSRF token in X-CSRF-Token), as for
 * /graphql (src/web/graphql/callers.ts). Nobody is 401; a service's own token is 403: services
 * exchange a person's token at /token and call each other themselves.
 */
export async function gatewayCaller(deps: GatewayCallerDeps, ctx: Context): Promise<PersonCaller> {
  const bearer = await bearerCaller(deps, ctx.req, ctx.path);
  if (bearer?.kind === 'service') throw new AppError('forbidden', 'The gateway acts for people. A service exchanges a person\'s token at /token (token exchange) and calls the other service itself.');
  if (bearer) {
    await requireHubScope(deps, bearer, (name, value) => ctx.set(name, value));
    await deps.cors.allow(ctx, bearer.clientId);
    return bearer;
  }
  const session = await sessionCaller(deps, ctx.req, ctx.res);
  await deps.cors.allow(ctx, null);
  if (session?.kind !== 'person' || !session.session) {
    ctx.set('WWW-Authenticate', 'Bearer scope="hub"');
    throw new AppError('unauthorized', 'Sign in: send a person\'s hub token (scope hub) as "Authorization: Bearer <token>", or the portal\'s session cookie.');
  }
  if (ctx.method !== 'GET') {
    const sent = ctx.get('X-CSRF-Token');
    if (!sent || !safeEqual(sent, deps.csrfTokenFor(session.session.uid))) {
      throw new AppError('csrf_failed', 'A request other than GET signed in by the portal\'s cookie needs the portal\'s CSRF token in the X-CSRF-Token header.');
    }
  }
  return session;
}
