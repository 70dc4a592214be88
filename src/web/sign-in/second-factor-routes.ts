import Router, { type RouterContext } from '@koa/router';
import { requestOrigin } from '../../audit/audit-log.ts';
import { AppError } from '../../platform/errors.ts';
import { countSignIn } from '../../platform/hub-metrics.ts';
import { formBody } from '../http/body.ts';
import { render } from '../http/render.ts';
import { handleForm } from '../http/form-errors.ts';
import type { AppContext } from '../http/app-context.ts';
import { beginSecondFactor, pendingSecondFactor, secondFactorsOf, verifySecondFactorCode } from '../../identity/second-factor.ts';
import { withFirstPartyConsent } from './first-party-consent.ts';
import { browserHashOf, recordSignIn, type SignInCookieDeps } from './sign-in-cookie.ts';
import { userQueries } from '../../queries/users.ts';
import { normaliseTotpCode } from '../../identity/totp.ts';
import type { PendingSecondFactorRow } from '../../queries/pending-second-factors.ts';
import { loginResult } from '../../oidc/login-result.ts';
import { rememberUiLocales } from '../http/locale.ts';
import { saveInteractionResult } from './interaction-result.ts';

type Deps = Pick<AppContext, 'holder' | 'db' | 'views' | 'secrets' | 'limits' | 'config' | 'mailer' | 'mail' | 'logger' | 'hubMetrics'>;

/**
 * Called by the password step (src/web/sign-in/interactions.ts) when the account has a second factor:
 * the sign-in is not finished; the interaction remembers whose password was right, server-side.
 */
export async function askForSecondFactor(ctx: RouterContext, db: Deps['db'], interactionUid: string, userId: string, amr: string[]): Promise<void> {
  await beginSecondFactor(db, interactionUid, userId, amr);
  ctx.status = 303;
  ctx.redirect(`/interaction/${interactionUid}/second-factor`);
}

/**
 * The second step of a password sign-in (src/web/sign-in/interactions.ts sends people here when their
 * account has a second factor): a code from the authenticator app or a recovery code, or a
 * passkey (public/js/passkey-sign-in.js, routes in passkey-sign-in-routes.ts).
 */
export function secondFactorRoutes({ holder, db, views, secrets, limits, config, mailer, mail, logger, hubMetrics }: Deps): Router {
  const router = new Router();
  const signInRecord: SignInCookieDeps = { db, mailer, mail, logger, secureCookies: config.secureCookies, holder };

  /** The interaction and its pending second step, or a redirect back to the sign-in page. */
  async function pendingStep(ctx: RouterContext) {
    const provider = holder.current;
    const interaction = await provider.interactionDetails(ctx.req, ctx.res);
    rememberUiLocales(ctx, interaction);
    if (interaction.uid !== ctx.params.uid) throw new AppError('bad_request', 'This sign-in page belongs to another sign-in attempt. Start again from the app.');
    const pending = interaction.prompt.name === 'login' ? await pendingSecondFactor(db, interaction.uid) : undefined;
    if (!pending) {
      ctx.status = 303;
      ctx.redirect(`/interaction/${interaction.uid}`);
      return null;
    }
    return { provider, interaction, pending };
  }

  const renderStep = async (ctx: RouterContext, uid: string, pending: PendingSecondFactorRow, extra: Record<string, unknown> = {}, status = 200) => {
    const factors = await secondFactorsOf(db, pending.user_id);
    // The password step named the person: from here on the pages speak their saved language.
    ctx.state.savedLocale = (await userQueries.byId(db, pending.user_id))?.locale;
    const recovery = ctx.query.with === 'recovery' || extra.recovery === true;
    render(ctx, views, recovery ? 'interaction/second-factor-recovery.njk' : 'interaction/second-factor.njk', {
      title: recovery ? 'Use a recovery code' : '2-step verification',
      uid,
      factors,
      ...extra,
    }, status);
  };

  router.get('/interaction/:uid/second-factor', async (ctx) => {
    const step = await pendingStep(ctx);
    if (step) await renderStep(ctx, step.interaction.uid, step.pending);
  });

  router.post('/interaction/:uid/second-factor', formBody, async (ctx) => {
    const step = await pendingStep(ctx);
    if (!step) return;
    const { provider, interaction, pending } = step;
    const body = ctx.request.body as Record<string, unknown>;
    const code = typeof body.code === 'string' ? body.code.slice(0, 64) : '';
    const recovery = body.method === 'recovery';
    if (!code.trim()) return renderStep(ctx, interaction.uid, pending, { recovery, error: 'Enter the code.' }, 400);
    const origin = requestOrigin(ctx);
    await handleForm(
      ctx,
      () =>
        // Counted as what the hub checks it as (src/identity/second-factor.ts): six digits are a TOTP code, else a recovery code.
        countSignIn(hubMetrics, normaliseTotpCode(code) ? 'totp' : 'recovery_code', async () => {
          const done = await verifySecondFactorCode(db, secrets, limits, pending, code, { ...origin, ip: ctx.ip, browserHash: browserHashOf(ctx) });
          const user = await userQueries.byId(db, done.userId);
          if (!user || user.disabled_at) {
            await renderStep(ctx, interaction.uid, pending, { recovery, error: 'This account cannot sign in.' }, 403);
            return 'account_disabled';
          }
          await recordSignIn(signInRecord, ctx, user, done.amr, interaction);
          const location = await saveInteractionResult(interaction, await withFirstPartyConsent(provider, db, interaction, loginResult(done.userId, done.amr, done.acr), holder.caches.accounts), { mergeWithLastSubmission: false });
          if (done.recoveryCodesLeft !== undefined) {
            // Say how many are left before moving on: the person may need to make new ones.
            return render(ctx, views, 'interaction/second-factor-recovery-used.njk', { title: 'Recovery code used', remaining: done.recoveryCodesLeft, location });
          }
          ctx.status = 303;
          ctx.redirect(location);
        }),
      (problem) => renderStep(ctx, interaction.uid, pending, { recovery, error: problem.message }),
    );
  });

  return router;
}
