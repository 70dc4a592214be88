import type { Context, Next } from 'koa';
import type { Knex } from 'knex';
import { AppError } from '../../platform/errors.ts';
import { acrMultiFactor, needsSecondFactor } from '../../identity/second-factor.ts';
import { returnToAfterSignIn, type SignedInAccount } from './account-session.ts';

/** Admins only, signed in within 15 minutes, with their second factor when they have one. */
export const adminMaxAgeSeconds = 900;

export const signedInWithSecondFactor = (account: Pick<SignedInAccount, 'acr' | 'amr'>) => account.acr === acrMultiFactor || account.amr.some((m) => m !== 'pwd');

/**
 * An administrator who has a second factor must have used it for this sign-in: otherwise they
 * sign in again, asked for it. Right after such a sign-in that still did not use it, a 403 says
 * so instead of sending them round again.
 */
export function requireSecondFactor(db: Knex) {
  return async function ensureSecondFactor(ctx: Context, next: Next) {
    const account = ctx.state.account as SignedInAccount;
    if (signedInWithSecondFactor(account) || !(await needsSecondFactor(db, account.user.id))) return next();
    if (Date.now() / 1000 - account.loginTs < 60) {
      throw new AppError('forbidden', 'The admin console needs a sign-in with your second factor (passkey or authenticator app).');
    }
    const params = new URLSearchParams({ return_to: returnToAfterSignIn(ctx, '/admin'), max_age: '0', acr_values: acrMultiFactor });
    const to = `/account/signin?${params}`;
    if (ctx.get('HX-Request')) {
      ctx.status = 401;
      ctx.set('HX-Redirect', to);
      return;
    }
    ctx.redirect(to);
  };
}
