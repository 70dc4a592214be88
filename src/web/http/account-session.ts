import type { Context, Next } from 'koa';
import Router from '@koa/router';
import type { Knex } from 'knex';
import type Provider from 'oidc-provider';
import { randomToken } from '../../platform/crypto/tokens.ts';
import { extendedExpiry, sessionCookieFlags } from '../../sessions/session-policy.ts';
import { userQueries, type UserRow } from '../../queries/users.ts';
import type { KnexModelAdapter } from '../../oidc/adapter.ts';
import type { ProviderHolder } from '../../oidc/provider-holder.ts';
import { portalClientId } from '../../catalog/clients.ts';
import type { Csrf } from './csrf.ts';
import { AppError } from '../../platform/errors.ts';

/** Who is signed in to this browser, read from the provider's own session: one session for sign-in and portal. */
export interface SignedInAccount {
  user: UserRow;
  sessionId: string;
  sessionUid: string;
  /** Seconds since epoch of the last full sign-in. */
  loginTs: number;
  amr: string[];
  acr: string | undefined;
  csrfToken: string;
}

const stateCookie = 'uq_portal_state';

/** A local path only: no scheme, no host, no protocol-relative //evil.example. */
export function safeReturnTo(value: unknown, fallback = '/account'): string {
  if (typeof value !== 'string' || !value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\') || value.length > 512) return fallback;
  return value;
}

/**
 * Where a person sent to sign in comes back to: the page they are on. An htmx request asks for a
 * part of a page (HX-Current-URL names the page; the part alone would be a bare fragment), and a
 * form post has no page of its own to come back to.
 */
export function returnToAfterSignIn(ctx: Context, fallback = '/account'): string {
  if (ctx.get('HX-Request')) {
    const page = URL.parse(ctx.get('HX-Current-URL'));
    return page ? safeReturnTo(page.pathname, fallback) : fallback;
  }
  return ctx.method === 'GET' ? ctx.originalUrl : fallback;
}

type ProviderSession = Awaited<ReturnType<Provider['Session']['get']>>;

/**
 * Using the portal keeps the sign-in alive, as using a service does: the session's idle expiry
 * moves to now + 2 days (never past 14 days from the sign-in), in the database and in the
 * cookie, at most once every few minutes per session (sessionPolicy.refreshSeconds). Only the
 * expiry is written, and only while the row lives, so a sign-out or a new sign-in in another
 * tab meanwhile is never undone. (/hub/events, the live stream, reads the session elsewhere and
 * keeps nothing alive: an open tab is not use.)
 */
async function extendIdleExpiry(ctx: Context, provider: Provider, session: ProviderSession, secureCookies: boolean): Promise<void> {
  const exp = extendedExpiry(session);
  const adapter = provider.Session.adapter as Partial<Pick<KnexModelAdapter, 'extendExpiry'>>;
  if (exp === null || !adapter.extendExpiry) return;
  if (!(await adapter.extendExpiry(session.jti, exp))) return;
  session.exp = exp;
  // A transient session's cookie lasts as long as the browser: it has no expiry to move.
  if (session.transient) return;
  const flags = sessionCookieFlags(secureCookies);
  const cookies = provider.createContext(ctx.req, ctx.res).cookies;
  cookies.secure = cookies.secure || ctx.secure;
  // As the provider: a Secure cookie is never sent over plain http (cookies would throw).
  if (flags.secure && !cookies.secure) return;
  cookies.set(provider.cookieName('session'), session.jti, { ...flags, expires: new Date(exp * 1000) });
}

export function loadAccount(holder: ProviderHolder, csrf: Csrf, db: Knex, options: { secureCookies: boolean }) {
  return async function readAccountSession(ctx: Context, next: Next) {
    const provider = holder.current;
    const session = await provider.Session.get(ctx as never);
    if (session.accountId) {
      const user = await userQueries.byId(db, session.accountId);
      if (user && !user.disabled_at) {
        const account: SignedInAccount = {
          user,
          sessionId: session.jti,
          sessionUid: session.uid,
          loginTs: session.loginTs ?? 0,
          amr: (session.amr as string[] | undefined) ?? [],
          acr: session.acr as string | undefined,
          csrfToken: csrf.tokenFor(session.uid),
        };
        ctx.state.account = account;
        await extendIdleExpiry(ctx, provider, session, options.secureCookies);
      }
    }
    await next();
  };
}

/** Sends a person who is not signed in (or not recently enough) through the sign-in pages and back. */
export function requireAccount(options: { maxAgeSeconds?: number; admin?: boolean } = {}) {
  return async function ensureSignedIn(ctx: Context, next: Next) {
    const account = ctx.state.account as SignedInAccount | undefined;
    const fresh = account && (!options.maxAgeSeconds || Date.now() / 1000 - account.loginTs <= options.maxAgeSeconds);
    if (!account || !fresh) {
      const params = new URLSearchParams({ return_to: returnToAfterSignIn(ctx) });
      if (options.maxAgeSeconds) params.set('max_age', String(options.maxAgeSeconds));
      const to = `/account/signin?${params}`;
      if (ctx.get('HX-Request')) {
        ctx.status = 401;
        ctx.set('HX-Redirect', to);
        return;
      }
      return ctx.redirect(to);
    }
    if (options.admin && !account.user.is_admin) throw new AppError('forbidden', 'This page is for administrators.');
    await next();
  };
}

/**
 * /account/signin starts an authorization request of the portal's own client (response_type
 * none: no code, no token; the provider session is the point) and /account/callback returns the
 * person to where they were going.
 */
export function accountSignInRoutes(holder: ProviderHolder, issuer: string, secure: boolean): Router {
  const router = new Router();
  router.get('/account/signin', (ctx) => {
    const state = randomToken(16);
    const returnTo = safeReturnTo(ctx.query.return_to);
    ctx.cookies.set(stateCookie, `${state}|${returnTo}`, { httpOnly: true, sameSite: 'lax', secure, maxAge: 3600_000, path: '/account' });
    const params = new URLSearchParams({
      client_id: portalClientId,
      response_type: 'none',
      redirect_uri: `${issuer}/account/callback`,
      scope: 'openid',
      state,
    });
    const maxAge = Number(ctx.query.max_age);
    if (Number.isInteger(maxAge) && maxAge >= 0) params.set('max_age', String(maxAge));
    if (typeof ctx.query.acr_values === 'string') params.set('acr_values', ctx.query.acr_values.slice(0, 200));
    if (typeof ctx.query.login_hint === 'string') params.set('login_hint', ctx.query.login_hint.slice(0, 254));
    void holder;
    ctx.redirect(`/auth?${params}`);
  });
  router.get('/account/callback', (ctx) => {
    const [expected, returnTo] = (ctx.cookies.get(stateCookie) ?? '').split('|');
    ctx.cookies.set(stateCookie, null, { path: '/account' });
    if (typeof ctx.query.error === 'string') throw new AppError('forbidden', ctx.query.error === 'access_denied' ? 'Sign-in was cancelled.' : `Sign-in failed: ${ctx.query.error}`);
    if (!expected || ctx.query.state !== expected) return ctx.redirect('/account/signin');
    ctx.redirect(safeReturnTo(returnTo));
  });
  return router;
}
