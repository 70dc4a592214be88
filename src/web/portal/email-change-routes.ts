import Router from '@koa/router';
import type { Context } from 'koa';
import { AppError } from '../../platform/errors.ts';
import type { AppContext } from '../http/app-context.ts';
import {
  cancelEmailChange,
  changeMinutes,
  confirmEmailChangeByCode,
  confirmEmailChangeByLink,
  pendingEmailChange,
  requestEmailChange,
  type ConfirmResult,
} from '../../identity/email-change.ts';
import { requireAccount, type SignedInAccount } from '../http/account-session.ts';
import { requireRecentSignIn } from '../http/recent-sign-in.ts';
import { redirectWithNotice, render } from '../http/render.ts';
import { handleForm } from '../http/form-errors.ts';

const page = '/account/security/email';

const takenMessage = 'This address cannot be used: another account signs in with it. Choose another address.';

/**
 * Changing the sign-in email: the Email section of /account/security posts here. The request
 * needs a recent sign-in and the password; the new address is proven by a code typed on
 * /account/security/email/verify or by the link in the mail (opened signed in as the same
 * account). Failures of the form show on /account/security/email, next to the field.
 */
export function emailChangeRoutes(hub: Pick<AppContext, 'config' | 'db' | 'hasher' | 'limits' | 'mail' | 'mailer' | 'views'>): Router {
  const router = new Router();
  const deps = { db: hub.db, hasher: hub.hasher, limits: hub.limits, mailer: hub.mailer, mail: hub.mail, issuer: hub.config.issuer };
  const account = (ctx: Context) => ctx.state.account as SignedInAccount;
  const origin = (ctx: Context) => ({ ip: ctx.ip, userAgent: ctx.get('user-agent') || null });
  const field = (ctx: Context, name: string, max: number) => {
    const value = (ctx.request.body as Record<string, unknown> | undefined)?.[name];
    return typeof value === 'string' ? value.slice(0, max) : undefined;
  };

  async function showForm(ctx: Context, extra: Record<string, unknown> = {}, status = 200) {
    const notices: Record<string, string> = {
      'email-changed': `Your email is now ${account(ctx).user.email}. Sign in with it from now on.`,
      'change-cancelled': 'The email change is cancelled. Your email stays as it was.',
    };
    const notice = typeof ctx.query.notice === 'string' ? notices[ctx.query.notice] : undefined;
    const pending = await pendingEmailChange(hub.db, account(ctx).user.id);
    render(ctx, hub.views, 'portal/email-change.njk', { title: 'Email', section: 'security', flash: notice, emailErrors: {}, pendingShown: true, pending, ...extra }, status);
  }

  async function showVerify(ctx: Context, extra: Record<string, unknown> = {}, status = 200) {
    const pending = await pendingEmailChange(hub.db, account(ctx).user.id);
    render(ctx, hub.views, 'portal/email-change-verify.njk', { title: 'Confirm your new email', section: 'security', pending, minutes: changeMinutes, ...extra }, status);
  }

  /** What a confirmation that did not change anything shows. */
  async function refused(ctx: Context, result: Exclude<ConfirmResult, { ok: true }>, via: 'code' | 'link') {
    if (result.reason === 'taken') return showForm(ctx, { error: takenMessage }, 409);
    if (result.reason === 'other_account') {
      throw new AppError('forbidden', 'This link is for another account. Sign out, then open it again and sign in with the account that asked for the change.');
    }
    if (via === 'code') return showVerify(ctx, { error: 'That code is not right, or it has expired.', codeError: 'Check the code in the mail, or ask for a new one.' }, 400);
    throw new AppError('invalid_input', 'This confirmation link has expired or was already used. Ask again on the Security page.');
  }

  router.get(page, requireAccount(), (ctx) => showForm(ctx));

  router.post(page, requireAccount(), requireRecentSignIn('/account/security'), async (ctx) => {
    const newEmail = field(ctx, 'newEmail', 300);
    await handleForm(
      ctx,
      async () => {
        await requestEmailChange(deps, account(ctx).user.id, { newEmail, password: field(ctx, 'password', 1024) }, origin(ctx));
        ctx.status = 303;
        ctx.redirect(`${page}/verify`);
      },
      (problem) => showForm(ctx, { error: problem.summary, emailErrors: problem.fields, newEmail: newEmail?.trim() }),
    );
  });

  // The waiting change, for the Security page (htmx loads it into the Email section).
  router.get(`${page}/pending`, requireAccount(), async (ctx) => {
    render(ctx, hub.views, 'partials/security-email-pending.njk', { pending: await pendingEmailChange(hub.db, account(ctx).user.id) });
  });

  router.get(`${page}/verify`, requireAccount(), (ctx) => showVerify(ctx));

  router.post(`${page}/verify`, requireAccount(), async (ctx) => {
    const code = (field(ctx, 'code', 20) ?? '').replace(/\s+/g, '');
    if (!code) return showVerify(ctx, { error: 'Enter the code from the mail.', codeError: 'Enter the 6-digit code.' }, 400);
    const result = await confirmEmailChangeByCode(deps, account(ctx).user.id, code, origin(ctx));
    if (!result.ok) return refused(ctx, result, 'code');
    redirectWithNotice(ctx, page, 'email-changed');
  });

  router.post(`${page}/cancel`, requireAccount(), async (ctx) => {
    await cancelEmailChange(hub.db, account(ctx).user.id, origin(ctx));
    redirectWithNotice(ctx, page, 'change-cancelled');
  });

  // The link in the mail. Signed out, requireAccount sends the person to sign in and back here.
  router.get(`${page}/confirm`, requireAccount(), async (ctx) => {
    const token = typeof ctx.query.token === 'string' ? ctx.query.token : '';
    const result = await confirmEmailChangeByLink(deps, account(ctx).user.id, token, origin(ctx));
    if (!result.ok) return refused(ctx, result, 'link');
    redirectWithNotice(ctx, page, 'email-changed');
  });

  return router;
}
