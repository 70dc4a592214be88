import Router from '@koa/router';
import type { Context as RouterContext } from 'koa';
import { requestOrigin } from '../audit/audit-log.ts';
import { AppError } from '../errors.ts';
import type { HubContext } from '../hub.ts';
import { changePassword } from '../identity/password-change.ts';
import { listPasskeys, passkeyRegistrationOptions, registerPasskey, relyingPartyFor, removePasskey, renamePasskey } from '../identity/passkeys.ts';
import { generateRecoveryCodes } from '../identity/recovery-codes.ts';
import { hasSecondFactor, secondFactorsOf } from '../identity/second-factor.ts';
import { confirmTotpEnrolment, removeTotp, startTotpEnrolment, totpStatus } from '../identity/totp.ts';
import { requireAccount, type SignedInAccount } from './account-session.ts';
import { isRecent, recentSignInSeconds, requireRecentSignIn } from './recent-sign-in.ts';
import { endAllButSession } from './sessions.ts';

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

/** /account/security: password, passkeys, authenticator app, recovery codes. */
export function securityRoutes(hub: HubContext): Router {
  const { db, views, hasher, limits } = hub;
  const router = new Router();
  const rp = relyingPartyFor(hub.config.issuer);
  const recent = requireRecentSignIn(page);
  const account = (ctx: RouterContext) => ctx.state.account as SignedInAccount;
  const origin = (ctx: RouterContext) => requestOrigin(ctx);

  async function render(ctx: RouterContext, extra: Record<string, unknown> = {}, status = 200) {
    const me = account(ctx);
    const [factors, passkeys, totp] = await Promise.all([secondFactorsOf(db, me.user.id), listPasskeys(db, me.user.id), totpStatus(db, me.user.id)]);
    const code = ctx.query.notice;
    const notice = code === 'password-changed' ? passwordChangedNotice(ctx.query) : typeof code === 'string' ? notices[code] : undefined;
    ctx.status = status;
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = views.render('portal/security.njk', {
      title: 'Security',
      section: 'security',
      account: me,
      factors,
      passkeys,
      totpSince: totp.confirmedAt,
      twoStep: hasSecondFactor(factors),
      fresh: isRecent(me),
      flash: notice,
      passwordErrors: {},
      ...extra,
    });
  }

  const done = (ctx: RouterContext, notice: string, counts: Record<string, number> = {}) => {
    const query = new URLSearchParams({ notice, ...Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, String(v)])) });
    ctx.status = 303;
    ctx.redirect(`${page}?${query}`);
  };

  /** A fixable error shows on the page with the form; anything else goes to the error handler. */
  async function orShow(ctx: RouterContext, action: () => Promise<void>, extra: (error: AppError) => Record<string, unknown> = () => ({})) {
    try {
      await action();
    } catch (error) {
      if (!(error instanceof AppError) || error.status >= 500 || error.code === 'csrf_failed' || error.code === 'busy') throw error;
      await render(ctx, { error: error.message, ...extra(error) }, error.status);
    }
  }

  router.get(page, requireAccount(), (ctx) => render(ctx));

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
      (error) => ({ passwordErrors: error.fields ?? {} }),
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
      await renamePasskey(db, account(ctx).user.id, ctx.params.id!, String((ctx.request.body as Record<string, unknown>).name ?? ''));
      done(ctx, 'passkey-renamed');
    }),
  );

  router.post(`${page}/passkeys/:id/remove`, requireAccount(), recent, (ctx) =>
    orShow(ctx, async () => {
      await removePasskey(db, account(ctx).user.id, ctx.params.id!, origin(ctx));
      done(ctx, 'passkey-removed');
    }),
  );

  router.get(`${page}/authenticator`, requireAccount({ maxAgeSeconds: recentSignInSeconds }), (ctx) =>
    orShow(ctx, async () => {
      const me = account(ctx);
      await render(ctx, { enrolment: await startTotpEnrolment(db, hub.secrets.totp, me.user) });
    }),
  );

  router.post(`${page}/authenticator`, requireAccount(), recent, async (ctx) => {
    const me = account(ctx);
    try {
      await confirmTotpEnrolment(db, hub.secrets.totp, me.user.id, String((ctx.request.body as Record<string, unknown>).code ?? ''), origin(ctx));
    } catch (error) {
      if (!(error instanceof AppError) || error.code !== 'invalid_input') throw error;
      // Same seed, same QR code: the person only has to type a fresh code.
      const enrolment = await startTotpEnrolment(db, hub.secrets.totp, me.user);
      return render(ctx, { enrolment, codeError: error.fields?.code ?? error.message, error: error.message }, 400);
    }
    done(ctx, 'totp-on');
  });

  router.post(`${page}/authenticator/remove`, requireAccount(), recent, async (ctx) => {
    await removeTotp(db, account(ctx).user.id, origin(ctx));
    done(ctx, 'totp-removed');
  });

  router.post(`${page}/recovery-codes`, requireAccount(), recent, async (ctx) => {
    const codes = await generateRecoveryCodes(db, account(ctx).user.id, origin(ctx));
    await render(ctx, { newCodes: codes });
  });

  return router;
}
