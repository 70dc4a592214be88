import Router, { type RouterContext } from '@koa/router';
import type { Knex } from 'knex';
import type Provider from 'oidc-provider';
import type { InteractionResults } from 'oidc-provider';
import type { Views } from '../../platform/views.ts';
import type { PasswordHasher } from '../../identity/password-hashing.ts';
import { passwordSignIn } from '../../identity/password-sign-in.ts';
import { browserHashOf, recordSignIn, type SignInCookieDeps } from './sign-in-cookie.ts';
import { withFirstPartyConsent } from './first-party-consent.ts';
import { signupIntentCookie } from './signup-routes.ts';
import type { Limits } from '../../platform/rate-limits.ts';
import type { Config } from '../../platform/config.ts';
import { userQueries } from '../../queries/users.ts';
import { formBody } from '../http/body.ts';
import { render } from '../http/render.ts';
import { handleForm } from '../http/form-errors.ts';
import { AppError } from '../../platform/errors.ts';
import { countSignIn, type HubMetrics } from '../../platform/hub-metrics.ts';
import type { ProviderHolder } from '../../oidc/provider-holder.ts';
import { acrPassword } from '../../identity/second-factor.ts';
import { loginResult } from '../../oidc/login-result.ts';
import { askForSecondFactor } from './second-factor-routes.ts';
import { withheldFor, type Withheld } from '../../privacy/data-sharing.ts';
import { t, type Locale } from '../../platform/i18n.ts';
import { localeOf, rememberUiLocales } from '../http/locale.ts';
import { saveInteractionResult, type Interaction } from './interaction-result.ts';

export interface InteractionDeps {
  holder: ProviderHolder;
  db: Knex;
  hasher: PasswordHasher;
  views: Views;
  limits: Limits;
  config: Pick<Config, 'secureCookies'>;
  mailer: SignInCookieDeps['mailer'];
  mail: SignInCookieDeps['mail'];
  logger: SignInCookieDeps['logger'];
  hubMetrics: Pick<HubMetrics, 'signIns'>;
}

/** What the person turned off for the service of the client asking (nothing before they sign in). */
const withheldFrom = (db: Knex, interaction: Interaction) =>
  interaction.session?.accountId ? withheldFor(db, interaction.session.accountId, interaction.params.client_id as string) : Promise.resolve({ scopes: [], claims: [] });

/** What each scope lets a service do, as catalogue keys (consent.scope.*). */
const scopeWords: Record<string, string> = {
  openid: 'consent.scope.openid',
  email: 'consent.scope.email',
  profile: 'consent.scope.profile',
  offline_access: 'consent.scope.offline_access',
};

/**
 * Grants what the request asks for: used on "Allow" and, silently, for first-party services.
 * What the person turned off for the client's service on the privacy page (`withheld`) is
 * recorded as refused instead: the service does not get it, and is not asked about again
 * until the person turns it back on (src/privacy/privacy.ts lifts the refusal then).
 */
export async function grantRequested(provider: Provider, interaction: Interaction, withheld: Withheld = { scopes: [], claims: [] }): Promise<InteractionResults> {
  const { prompt, params, session } = interaction;
  const details = prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
  const grant = interaction.grantId
    ? await provider.Grant.find(interaction.grantId)
    : new provider.Grant({ accountId: session!.accountId, clientId: params.client_id as string });
  if (!grant) throw new Error('grant vanished during the interaction');
  const scopes = (details.missingOIDCScope ?? []).filter((s) => !withheld.scopes.includes(s));
  const claims = (details.missingOIDCClaims ?? []).filter((c) => !withheld.claims.includes(c));
  if (scopes.length) grant.addOIDCScope(scopes.join(' '));
  if (claims.length) grant.addOIDCClaims(claims);
  if (withheld.scopes.length) grant.rejectOIDCScope(withheld.scopes.join(' '));
  if (withheld.claims.length) grant.rejectOIDCClaims(withheld.claims);
  for (const [indicator, scopes] of Object.entries(details.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
  const grantId = await grant.save();
  return { consent: interaction.grantId ? {} : { grantId } };
}

/** The data a service may be refused, in the words of the privacy page. */
const withheldWords: Record<string, string> = { email: 'consent.withheld.email', profile: 'consent.withheld.profile' };

/** What the consent page lists: what the service will be able to do, and what it asked for that stays off. */
function consentAsks(interaction: Interaction, withheld: Withheld, locale: Locale): { asks: string[]; off: string[] } {
  const details = interaction.prompt.details as { missingOIDCScope?: string[]; missingResourceScopes?: Record<string, string[]> };
  const asks = (details.missingOIDCScope ?? []).filter((s) => !withheld.scopes.includes(s)).map((s) => (scopeWords[s] ? t(locale, scopeWords[s]) : t(locale, 'consent.scope.other', { scope: s })));
  for (const [resource, scopes] of Object.entries(details.missingResourceScopes ?? {})) {
    asks.push(scopes.length ? t(locale, 'consent.resource.scoped', { resource, scopes: scopes.join(', ') }) : t(locale, 'consent.resource', { resource }));
  }
  const requested = String(interaction.params.scope ?? '').split(' ');
  const off = withheld.scopes.filter((s) => requested.includes(s)).map((s) => (withheldWords[s] ? t(locale, withheldWords[s]) : s));
  return { asks: asks.length ? asks : [t(locale, 'consent.scope.signedIn')], off };
}

export function interactionRoutes(deps: InteractionDeps): Router {
  const { holder, db, hasher, views, limits } = deps;
  const signInRecord: SignInCookieDeps = { db, mailer: deps.mailer, mail: deps.mail, logger: deps.logger, secureCookies: deps.config.secureCookies, holder };
  const router = new Router();

  async function clientFor(provider: Provider, interaction: Interaction) {
    const client = await provider.Client.find(interaction.params.client_id as string);
    return { client, name: client?.clientName ?? (interaction.params.client_id as string) };
  }

  const finish = async (ctx: RouterContext, interaction: Interaction, result: InteractionResults, options = { mergeWithLastSubmission: false }) => {
    const to = await saveInteractionResult(interaction, result, options);
    ctx.status = 303;
    ctx.redirect(to);
  };

  /**
   * Consent keeps the sign-in that came just before it in the same authorization request: the
   * provider checks prompt=login and max_age against this result, and a consent result alone
   * would send the person back to the sign-in page after every sign-in.
   */
  const finishConsent = (ctx: RouterContext, interaction: Interaction, result: InteractionResults) => finish(ctx, interaction, result, { mergeWithLastSubmission: true });

  const renderLogin = async (ctx: RouterContext, provider: Provider, interaction: Interaction, extra: Record<string, unknown> = {}, status = 200) => {
    const { name } = await clientFor(provider, interaction);
    render(ctx, views, 'interaction/login.njk', {
      title: 'Sign in',
      uid: interaction.uid,
      clientName: name === 'uniqverse-portal' || name === 'UniQVerse account' ? null : name,
      // A step-up (max_age, acr_values) asks the person already signed in: their email is filled in.
      email: (interaction.params.login_hint as string | undefined) ?? (interaction.session?.accountId ? (await userQueries.byId(db, interaction.session.accountId))?.email : undefined) ?? '',
      signupUrl: `/interaction/${interaction.uid}/signup`,
      resetUrl: '/reset',
      ...extra,
    }, status);
  };

  router.get('/interaction/:uid', async (ctx) => {
    const provider = holder.current;
    const interaction = await provider.interactionDetails(ctx.req, ctx.res);
    rememberUiLocales(ctx, interaction);
    if (interaction.uid !== ctx.params.uid) ctx.throw(400, 'This sign-in page belongs to another sign-in attempt. Start again from the app.');
    // /signup goes through the portal's sign-in and asks to open on the sign-up form.
    if (interaction.prompt.name === 'login' && ctx.cookies.get(signupIntentCookie)) return ctx.redirect(`/interaction/${interaction.uid}/signup`);
    if (interaction.prompt.name === 'login') return renderLogin(ctx, provider, interaction);
    const { client, name } = await clientFor(provider, interaction);
    const withheld = await withheldFrom(db, interaction);
    if (client?.['urn:uniqverse:first_party' as never] === true) return finishConsent(ctx, interaction, await grantRequested(provider, interaction, withheld));
    const user = interaction.session?.accountId ? await userQueries.byId(db, interaction.session.accountId) : undefined;
    ctx.state.savedLocale = user?.locale;
    render(ctx, views, 'interaction/consent.njk', { title: 'Allow access', uid: interaction.uid, clientName: name, email: user?.email, ...consentAsks(interaction, withheld, localeOf(ctx)) });
  });

  router.post('/interaction/:uid/login', formBody, async (ctx) => {
    const provider = holder.current;
    const interaction = await provider.interactionDetails(ctx.req, ctx.res);
    rememberUiLocales(ctx, interaction);
    if (interaction.prompt.name !== 'login') ctx.throw(400, 'This sign-in step is already done.');
    // A body that is not a form (JSON, no content type) is left unparsed: treat it as an empty form.
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    const email = typeof body.email === 'string' ? body.email.slice(0, 254) : '';
    const password = typeof body.password === 'string' ? body.password.slice(0, 1024) : '';
    if (!email || !password) {
      return renderLogin(ctx, provider, interaction, { email, error: 'Enter your email and password.' }, 400);
    }
    await handleForm(
      ctx,
      () =>
        countSignIn(deps.hubMetrics, 'password', async () => {
          const result = await passwordSignIn({ db, hasher, limits }, email, password, { ip: ctx.ip, userAgent: ctx.get('user-agent') || null, browserHash: browserHashOf(ctx) });
          // One answer for a wrong password, an unknown email, a disabled or a locked account.
          if (!result.ok) throw new AppError('unauthorized', 'Wrong email or password.');
          if (result.owesSecondFactor) {
            await askForSecondFactor(ctx, db, interaction.uid, result.user.id, ['pwd']);
            return 'second_factor_required';
          }
          await recordSignIn(signInRecord, ctx, result.user, ['pwd'], interaction);
          await finish(ctx, interaction, await withFirstPartyConsent(provider, db, interaction, loginResult(result.user.id, ['pwd'], acrPassword), holder.caches.accounts));
        }),
      (problem) => renderLogin(ctx, provider, interaction, { email, error: problem.message }),
    );
  });

  router.post('/interaction/:uid/confirm', async (ctx) => {
    const provider = holder.current;
    const interaction = await provider.interactionDetails(ctx.req, ctx.res);
    rememberUiLocales(ctx, interaction);
    if (interaction.prompt.name !== 'consent') ctx.throw(400, 'There is nothing to allow in this step.');
    await finishConsent(ctx, interaction, await grantRequested(provider, interaction, await withheldFrom(db, interaction)));
  });

  router.post('/interaction/:uid/abort', async (ctx) => {
    const interaction = await holder.current.interactionDetails(ctx.req, ctx.res);
    await finish(ctx, interaction, { error: 'access_denied', error_description: 'The person cancelled the sign-in.' });
  });

  return router;
}
