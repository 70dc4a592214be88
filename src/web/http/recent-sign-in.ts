import type { Context, Next } from 'koa';
import type { SignedInAccount } from './account-session.ts';

/** Changing the password or a way of signing in needs a full sign-in from the last ten minutes. */
export const recentSignInSeconds = 600;

export const isRecent = (account: SignedInAccount | undefined, now = Date.now()) =>
  Boolean(account) && now / 1000 - account!.loginTs <= recentSignInSeconds;

/**
 * Step-up for state changes (run after requireAccount()): a stale sign-in is sent through the
 * sign-in pages again (max_age makes the provider ask even though a session exists) and back to
 * `returnTo`. A form gets a redirect, htmx an HX-Redirect; a script (Accept: application/json) gets a
 * 401 saying where to go.
 */
export function requireRecentSignIn(returnTo: string) {
  return async function ensureRecentSignIn(ctx: Context, next: Next) {
    if (isRecent(ctx.state.account as SignedInAccount | undefined)) return next();
    const location = `/account/signin?${new URLSearchParams({ return_to: returnTo, max_age: String(recentSignInSeconds) })}`;
    ctx.set('Cache-Control', 'no-store');
    // htmx would follow a redirect and swap the sign-in page into the page: it goes there instead.
    if (ctx.get('HX-Request')) {
      ctx.status = 401;
      ctx.set('HX-Redirect', location);
      return;
    }
    if (ctx.accepts('html', 'json') === 'json') {
      ctx.status = 401;
      ctx.type = 'application/problem+json';
      ctx.body = { type: 'about:blank', title: 'reauthentication_required', status: 401, detail: 'Sign in again to make this change.', location };
      return;
    }
    ctx.status = 303;
    ctx.redirect(location);
  };
}
