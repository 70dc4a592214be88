import Router from '@koa/router';
import type { Context as RouterContext } from 'koa';
import { requestOrigin } from '../../audit/audit-log.ts';
import { AppError, notFound } from '../../platform/errors.ts';
import type { AppContext } from '../http/app-context.ts';
import { changePassword } from '../../identity/password-change.ts';
import { listPasskeys, passkeyRegistrationOptions, registerPasskey, relyingPartyFor, removePasskey, renamePasskey } from '../../identity/passkeys.ts';
import { generateRecoveryCodes } from '../../identity/recovery-codes.ts';
import { hasSecondFactor, secondFactorsOf } from '../../identity/second-factor.ts';
import { confirmTotpEnrolment, removeTotp, startTotpEnrolment, totpStatus } from '../../identity/totp.ts';
import { requireAccount, type SignedInAccount } from '../http/account-session.ts';
import { confirmedAction } from '../http/confirm-action.ts';
import { isRecent, recentSignInSeconds, requireRecentSignIn } from '../http/recent-sign-in.ts';
import { isHtmx, render } from '../http/render.ts';
import { handleForm, type FormProblem } from '../http/form-errors.ts';
import { pageParam } from '../../db/pagination.ts';
import { securityActivity } from '../../sessions/security-activity.ts';
import { endAllButSession } from '../../sessions/sessions.ts';

const page = '/account/security';

/** Notices after a redirect, by code: nothing from the URL is shown as it came. */
const notices: Record<string, string> = {
  'passkey-added': 'Passkey added. You can now sign in with it.',
  'passkey-renamed': 'Passkey renamed.',
  'passkey-removed': 'Passkey removed.',
  'totp-on': 'Authenticator app is on. Sign-in now asks for a code after your password. Generate recovery codes in case you lose your phone.',
  'totp-removed': 'Authenticator app removed.',
};

const count = (value: unknown) => (typeof value === 'string' && /^\d{1,6}$/.test(value) ? Number(value) : 0);
const plural = (n: number, one: string, many: string) => (n === 1 ? one : many.replace('#', String(n)));

/** What a password change ended, from the counts the redirect carries (digits only). */
function passwordChangedNotice(query: Record<string, unknown>): string {
  const sessions = count(query.sessions);
  const appPasswords = count(query.app_passwords);
  const signedOut = sessions
    ? `Your password is changed, and you are signed out everywhere else: ${plural(sessions, 'your other session was', 'your # other sessions were')} signed out.`
    : 'Your password is changed. You were not signed in anywhere else.';
  const revoked = appPasswords ? ` ${plural(appPasswords, 'Your app password was', 'Your # app passwords were')} revoked: create new ones for your devices.` : '';
  return signedOut + revoked;
}

/** /account/security: password, email, passkeys, authenticator app, recovery codes, and the person's security activity. */
export function securityRoutes(hub: Pick<AppContext, 'config' | 'db' | 'hasher' | 'limits' | 'secrets' | 'views'>): Router {
  const { db, views, hasher, limits } = hub;
  const router = new Router();
  const rp = relyingPartyFor(hub.config.issuer);
  const recent = requireRecentSignIn(page);
  const account = (ctx: RouterContext) => ctx.state.account as SignedInAccount;
  const origin = (ctx: RouterContext) => requestOrigin(ctx);

  async function pageData(ctx: RouterContext) {
    const me = account(ctx);
    const [factors, passkeys, totp, activity] = await Promise.all([
      secondFactorsOf(db, me.user.id),
      listPasskeys(db, me.user.id),
      totpStatus(db, me.user.id),
      securityActivity(db, me.user.id, pageParam(ctx.query.page)),
    ]);
    return { title: 'Security', section: 'security', account: me, factors, passkeys, totpSince: totp.confirmedAt, twoStep: hasSecondFactor(factors), fresh: isRecent(me), passwordErrors: {}, activity };
  }

  async function securityPage(ctx: RouterContext, extra: Record<string, unknown> = {}) {
    const code = ctx.query.notice;
    const flash = code === 'password-changed' ? passwordChangedNotice(ctx.query) : typeof code === 'string' ? notices[code] : undefined;
    render(ctx, views, 'portal/security.njk', { ...(await pageData(ctx)), flash, ...extra });
  }

  const done = (ctx: RouterContext, notice: string, counts: Record<string, number> = {}) => {
    const query = new URLSearchParams({ notice, ...Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, String(v)])) });
    ctx.status = 303;
    ctx.redirect(`${page}?${query}`);
  };

  /**
   * After a confirmed change: htmx gets the changed part of the page (`fragment`) with the 2-step
   * summary and a notice; a form without JavaScript gets the page again. A thing already gone
   * (removed in another tab) just shows the list as it is now.
   */
  async function changed(ctx: RouterContext, fragment: string, notice: string, change: () => Promise<unknown>) {
    try {
      await change();
    } catch (error) {
      if (!isHtmx(ctx) || !(error instanceof AppError) || error.code !== 'not_found') throw error;
      return render(ctx, views, 'partials/security-update.njk', { ...(await pageData(ctx)), changed: fragment, notice: error.message });
    }
    if (!isHtmx(ctx)) return done(ctx, notice);
    render(ctx, views, 'partials/security-update.njk', { ...(await pageData(ctx)), changed: fragment, notice: notices[notice] });
  }

  /** An error a form shows (src/web/http/form-errors.ts) is drawn on the page; anything else goes to the error handler. */
  const orShow = (ctx: RouterContext, action: () => Promise<void>, extra: (problem: FormProblem) => Record<string, unknown> = () => ({})) =>
    handleForm(ctx, action, (problem) => securityPage(ctx, { error: problem.message, ...extra(problem) }));

  router.get(page, requireAccount(), async (ctx) => {
    // The security activity's pager asks for its list alone (htmx 4 names the target as tag#id).
    if (isHtmx(ctx) && /(^|#)security-activity$/.test(ctx.get('HX-Target'))) return render(ctx, views, 'partials/security-activity.njk', await pageData(ctx));
    return securityPage(ctx);
  });

  router.post(`${page}/password`, requireAccount(), recent, (ctx) =>
    orShow(
      ctx,
      async () => {
        const body = ctx.request.body as Record<string, unknown>;
        const me = account(ctx);
        const result = await changePassword(
          { db, hasher, limits, endOtherSessions: endAllButSession },
          me.user.id,
          me.sessionUid,
          { currentPassword: body.currentPassword, newPassword: body.newPassword },
          { ...origin(ctx), ip: ctx.ip },
        );
        done(ctx, 'password-changed', { sessions: result.sessionsEnded, app_passwords: result.appPasswordsRevoked });
      },
      (problem) => ({ passwordErrors: problem.fields }),
    ),
  );

  router.post(`${page}/passkeys/options`, requireAccount(), recent, async (ctx) => {
    const me = account(ctx);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await passkeyRegistrationOptions(db, rp, me.user, me.sessionUid);
  });

  router.post(`${page}/passkeys`, requireAccount(), recent, async (ctx) => {
    const me = account(ctx);
    const body = ctx.request.body as Record<string, unknown>;
    await registerPasskey(db, rp, me.user.id, me.sessionUid, body.response, {
      name: typeof body.name === 'string' ? body.name : undefined,
      origin: origin(ctx),
    });
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { location: `${page}?notice=passkey-added` };
  });

  router.post(`${page}/passkeys/:id/name`, requireAccount(), (ctx) =>
    orShow(ctx, async () => {
      await renamePasskey(db, account(ctx).user.id, ctx.params.id!, String((ctx.request.body as Record<string, unknown>).name ?? ''), origin(ctx));
      done(ctx, 'passkey-renamed');
    }),
  );

  confirmedAction(router, views, `${page}/passkeys/:id/remove`, {
    recentFor: page,
    ask: async (ctx) => {
      const me = account(ctx);
      const passkey = (await listPasskeys(db, me.user.id)).find((p) => p.id === ctx.params.id);
      if (!passkey) throw notFound('That passkey was already removed.');
      const factors = await secondFactorsOf(db, me.user.id);
      return {
        title: `Remove the passkey “${passkey.name}”?`,
        message: 'You can no longer sign in with it. The passkey stays on your device until you delete it there.',
        detail: !factors.totp && factors.passkeys === 1 ? 'It is your only second step: 2-step verification turns off.' : undefined,
        button: 'Remove passkey',
        cancelUrl: page,
        section: 'security',
      };
    },
    act: (ctx) => changed(ctx, 'partials/security-passkey-list.njk', 'passkey-removed', () => removePasskey(db, account(ctx).user.id, ctx.params.id!, origin(ctx))),
  });

  router.get(`${page}/authenticator`, requireAccount({ maxAgeSeconds: recentSignInSeconds }), (ctx) =>
    orShow(ctx, async () => {
      const me = account(ctx);
      await securityPage(ctx, { enrolment: await startTotpEnrolment(db, hub.secrets.totp, me.user) });
    }),
  );

  router.post(`${page}/authenticator`, requireAccount(), recent, async (ctx) => {
    const me = account(ctx);
    await handleForm(
      ctx,
      async () => {
        await confirmTotpEnrolment(db, hub.secrets.totp, me.user.id, String((ctx.request.body as Record<string, unknown>).code ?? ''), origin(ctx));
        done(ctx, 'totp-on');
      },
      async (problem) => {
        // Same seed, same QR code: the person only has to type a fresh code.
        const enrolment = await startTotpEnrolment(db, hub.secrets.totp, me.user);
        await securityPage(ctx, { enrolment, codeError: problem.fields.code ?? problem.message, error: problem.message });
      },
    );
  });

  confirmedAction(router, views, `${page}/authenticator/remove`, {
    recentFor: page,
    ask: async (ctx) => {
      const factors = await secondFactorsOf(db, account(ctx).user.id);
      if (!factors.totp) throw notFound('The authenticator app was already removed.');
      return {
        title: 'Remove the authenticator app?',
        message: 'Sign-in will no longer ask for a code from it.',
        detail: factors.passkeys ? undefined : 'It is your only second step: 2-step verification turns off.',
        button: 'Remove authenticator app',
        cancelUrl: page,
        section: 'security',
      };
    },
    act: (ctx) => changed(ctx, 'partials/security-authenticator.njk', 'totp-removed', () => removeTotp(db, account(ctx).user.id, origin(ctx))),
  });

  confirmedAction(router, views, `${page}/recovery-codes`, {
    recentFor: page,
    ask: async (ctx) => {
      const factors = await secondFactorsOf(db, account(ctx).user.id);
      return {
        title: factors.recoveryCodes ? 'Replace your recovery codes?' : 'Generate recovery codes?',
        message: factors.recoveryCodes
          ? `New codes replace your ${plural(factors.recoveryCodes, 'unused code: it stops', '# unused codes: they stop')} working at once.`
          : 'You get ten codes, shown once. Each gets you in once if you lose your phone or passkey.',
        button: factors.recoveryCodes ? 'Generate new codes' : 'Generate recovery codes',
        cancelUrl: page,
        section: 'security',
        danger: factors.recoveryCodes > 0,
      };
    },
    // The codes are shown once, in the answer itself: no redirect.
    act: async (ctx) => {
      const newCodes = await generateRecoveryCodes(db, hub.secrets.credentials, account(ctx).user.id, origin(ctx));
      if (!isHtmx(ctx)) return securityPage(ctx, { newCodes });
      render(ctx, views, 'partials/security-update.njk', { ...(await pageData(ctx)), changed: 'partials/security-recovery-codes.njk', newCodes });
    },
  });

  return router;
}
