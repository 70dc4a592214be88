import Router, { type RouterContext } from '@koa/router';
import type Provider from 'oidc-provider';
import { appendAudit, requestOrigin } from '../../audit/audit-log.ts';
import { AppError } from '../../platform/errors.ts';
import { countSignIn } from '../../platform/hub-metrics.ts';
import { formBody } from '../http/body.ts';
import type { AppContext } from '../http/app-context.ts';
import { passkeyAuthenticationOptions, relyingPartyFor, verifyPasskeyAssertion } from '../../identity/passkeys.ts';
import { acrMultiFactor, finishSecondFactorWithPasskey, pendingSecondFactor } from '../../identity/second-factor.ts';
import { withFirstPartyConsent } from './first-party-consent.ts';
import { recordSignIn, type SignInCookieDeps } from './sign-in-cookie.ts';
import { userQueries, type UserRow } from '../../queries/users.ts';
import { loginResult } from '../../oidc/login-result.ts';
import { rememberUiLocales } from '../http/locale.ts';
import { saveInteractionResult, type Interaction } from './interaction-result.ts';

type Deps = Pick<AppContext, 'holder' | 'db' | 'config' | 'limits' | 'mailer' | 'mail' | 'logger' | 'hubMetrics'>;

/** A passkey with user verification is two factors in one: something you have, and a PIN or biometric. */
export const passkeyAmr = ['hwk', 'user', 'mfa'];

const refused = () => new AppError('invalid_input', 'The passkey was not accepted.');

/**
 * The browser side of passkeys in the sign-in interaction: a passkey instead of a password
 * (button and autofill on the sign-in page), and a passkey as the second step after a password.
 * Both answer JSON to public/js/passkey-sign-in.js; challenges are bound to the interaction.
 */
export function passkeySignInRoutes({ holder, db, config, limits, mailer, mail, logger, hubMetrics }: Deps): Router {
  const router = new Router();
  const signInRecord: SignInCookieDeps = { db, mailer, mail, logger, secureCookies: config.secureCookies, holder };
  const rp = relyingPartyFor(config.issuer);

  async function loginInteraction(ctx: RouterContext) {
    const provider = holder.current;
    const interaction = await provider.interactionDetails(ctx.req, ctx.res);
    rememberUiLocales(ctx, interaction);
    if (interaction.uid !== ctx.params.uid) throw new AppError('bad_request', 'This sign-in page belongs to another sign-in attempt. Start again from the app.');
    if (interaction.prompt.name !== 'login') throw new AppError('bad_request', 'This sign-in step is already done.');
    return { provider, interaction };
  }

  const finishJson = async (ctx: RouterContext, provider: Provider, interaction: Interaction, accountId: string, amr: string[]) => {
    const result = await withFirstPartyConsent(provider, db, interaction, loginResult(accountId, amr, acrMultiFactor), holder.caches.accounts);
    const location = await saveInteractionResult(interaction, result, { mergeWithLastSubmission: false });
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { location };
  };

  router.post('/interaction/:uid/passkey/options', async (ctx) => {
    const { interaction } = await loginInteraction(ctx);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await passkeyAuthenticationOptions(db, rp, 'sign-in', interaction.uid, null);
  });

  router.post('/interaction/:uid/passkey', formBody, async (ctx) => {
    const { provider, interaction } = await loginInteraction(ctx);
    await countSignIn(hubMetrics, 'passkey', async () => {
      const origin = requestOrigin(ctx);
      // Before the assertion is read nobody knows whose passkey it is: counted per IP.
      const attempt = await limits.check('passkey', { ip: ctx.ip });
      if (!attempt.allowed) {
        await limits.fail(attempt);
        throw refused();
      }
      let user: UserRow | undefined;
      try {
        const passkey = await verifyPasskeyAssertion(db, rp, 'sign-in', interaction.uid, null, (ctx.request.body as Record<string, unknown>).response);
        user = await userQueries.byId(db, passkey.user_id);
        if (!user || user.disabled_at) throw refused();
      } catch (error) {
        await appendAudit(db, { action: 'signin.failed', ...origin, data: { method: 'passkey', reason: (error as Error).message } });
        await limits.fail(attempt);
        throw error;
      }
      await limits.succeed(attempt);
      await recordSignIn(signInRecord, ctx, user, passkeyAmr, interaction);
      await finishJson(ctx, provider, interaction, user.id, passkeyAmr);
    });
  });

  router.post('/interaction/:uid/second-factor/passkey/options', async (ctx) => {
    const { interaction } = await loginInteraction(ctx);
    const pending = await pendingSecondFactor(db, interaction.uid);
    if (!pending) throw new AppError('bad_request', 'This sign-in took too long. Start again.');
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await passkeyAuthenticationOptions(db, rp, 'second-factor', interaction.uid, pending.user_id);
  });

  router.post('/interaction/:uid/second-factor/passkey', formBody, async (ctx) => {
    const { provider, interaction } = await loginInteraction(ctx);
    const pending = await pendingSecondFactor(db, interaction.uid);
    if (!pending) throw new AppError('bad_request', 'This sign-in took too long. Start again.');
    await countSignIn(hubMetrics, 'passkey_second_factor', async () => {
      const origin = requestOrigin(ctx);
      const attempt = await limits.check('passkey', { accountKey: pending.user_id, ip: ctx.ip });
      try {
        if (!attempt.allowed) throw refused();
        await verifyPasskeyAssertion(db, rp, 'second-factor', interaction.uid, pending.user_id, (ctx.request.body as Record<string, unknown>).response);
      } catch (error) {
        await appendAudit(db, { action: 'signin.second_factor_failed', subjectId: pending.user_id, ...origin, data: { method: 'passkey', reason: (error as Error).message } });
        await limits.fail(attempt);
        throw error;
      }
      await limits.succeed(attempt);
      const done = await finishSecondFactorWithPasskey(db, interaction.uid);
      const user = await userQueries.byId(db, done.userId);
      if (!user || user.disabled_at) throw refused();
      await recordSignIn(signInRecord, ctx, user, done.amr, interaction);
      await finishJson(ctx, provider, interaction, user.id, done.amr);
    });
  });

  return router;
}
