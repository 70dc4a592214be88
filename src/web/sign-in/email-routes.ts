import Router, { type RouterContext } from '@koa/router';
import type { AppContext } from '../http/app-context.ts';
import { formBody } from '../http/body.ts';
import { render } from '../http/render.ts';
import { AppError } from '../../platform/errors.ts';
import { resendVerification, verifyEmailByCode, verifyEmailByLink } from '../../identity/email-verification.ts';
import { handleForm } from '../http/form-errors.ts';
import { completePasswordReset, openResetLink, requestPasswordReset, resetMinutes } from '../../identity/password-reset.ts';

const field = (body: unknown, name: string, max: number) => {
  const value = (body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value.slice(0, max) : '';
};

/** Email verification (/verify-email: link or code) and password reset (/reset). */
export function emailRoutes(hub: Pick<AppContext, 'config' | 'db' | 'hasher' | 'limits' | 'mail' | 'mailer' | 'views'>): Router {
  const router = new Router();
  const { views, config } = hub;
  const resetDeps = { db: hub.db, hasher: hub.hasher, limits: hub.limits, mailer: hub.mailer, mail: hub.mail, issuer: config.issuer };
  const origin = (ctx: RouterContext) => ({ ip: ctx.ip, userAgent: ctx.get('user-agent') || null });

  const done = (ctx: RouterContext, title: string, message: string, next = '/account', nextLabel = 'Go to your account') =>
    render(ctx, views, 'interaction/reset-done.njk', { title, message, next, nextLabel });

  router.get('/verify-email', async (ctx) => {
    const token = typeof ctx.query.token === 'string' ? ctx.query.token : null;
    if (token === null) return render(ctx, views, 'interaction/verify-email.njk', { title: 'Confirm your email', email: field(ctx.query, 'email', 254) });
    const result = await verifyEmailByLink(hub.db, token, origin(ctx));
    if (!result.ok) throw new AppError('invalid_input', 'This confirmation link has expired or was already used. Sign in to ask for a new one.');
    done(ctx, 'Email confirmed', `Thank you: ${result.email} is confirmed.`);
  });

  router.post('/verify-email', formBody, async (ctx) => {
    const email = field(ctx.request.body, 'email', 254).trim();
    const code = field(ctx.request.body, 'code', 20).replace(/\s+/g, '');
    if (!email || !code) return render(ctx, views, 'interaction/verify-email.njk', { title: 'Confirm your email', email, error: 'Enter your email and the code.' }, 400);
    const result = await verifyEmailByCode(hub, email, code, origin(ctx));
    if (!result.ok) return render(ctx, views, 'interaction/verify-email.njk', { title: 'Confirm your email', email, error: 'That code is not right, or it has expired.' }, 400);
    done(ctx, 'Email confirmed', `Thank you: ${result.email} is confirmed.`);
  });

  router.post('/verify-email/resend', formBody, async (ctx) => {
    const email = field(ctx.request.body, 'email', 254).trim();
    if (!email) return render(ctx, views, 'interaction/verify-email.njk', { title: 'Confirm your email', error: 'Enter your email.' }, 400);
    await resendVerification({ ...resetDeps }, email, origin(ctx));
    render(ctx, views, 'interaction/verify-email.njk', { title: 'Confirm your email', email, notice: 'If this address still needs confirming, a new code is on its way.' });
  });

  router.get('/reset', (ctx) => render(ctx, views, 'interaction/reset-request.njk', { title: 'Reset your password', email: field(ctx.query, 'email', 254) }));

  router.post('/reset', formBody, async (ctx) => {
    const email = field(ctx.request.body, 'email', 254).trim();
    if (!/^[^\s@]+@[^\s@]+$/.test(email)) return render(ctx, views, 'interaction/reset-request.njk', { title: 'Reset your password', email, error: 'Enter the email address of your account.' }, 400);
    await requestPasswordReset(resetDeps, email, origin(ctx));
    render(ctx, views, 'interaction/reset-sent.njk', { title: 'Check your email', email, minutes: resetMinutes });
  });

  router.get('/reset/:token', async (ctx) => {
    const { user } = await openResetLink(hub.db, ctx.params.token!);
    render(ctx, views, 'interaction/reset-password.njk', { title: 'Choose a new password', email: user.email, action: `/reset/${encodeURIComponent(ctx.params.token!)}`, fields: {} });
  });

  router.post('/reset/:token', formBody, async (ctx) => {
    const token = ctx.params.token!;
    await handleForm(
      ctx,
      async () => {
        await completePasswordReset(resetDeps, token, field(ctx.request.body, 'password', 1024), origin(ctx));
        done(ctx, 'Password changed', 'Your new password is set. You were signed out everywhere; sign in again with it.', '/account/signin', 'Sign in');
      },
      async (problem) => {
        // Only the new password can be fixed here: a dead link (or too many tries at it) is a page of its own.
        if (!problem.fields.password) throw problem.error;
        const { user } = await openResetLink(hub.db, token);
        render(ctx, views, 'interaction/reset-password.njk', { title: 'Choose a new password', email: user.email, action: `/reset/${encodeURIComponent(token)}`, error: problem.summary, fields: problem.fields });
      },
    );
  });

  return router;
}
