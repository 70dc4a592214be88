import Router, { type RouterContext } from '@koa/router';
import type { AppContext } from '../http/app-context.ts';
import { formBody } from '../http/body.ts';
import { render } from '../http/render.ts';
import { handleForm } from '../http/form-errors.ts';
import { recordSignIn } from './sign-in-cookie.ts';
import { signUp } from '../../identity/signup.ts';
import { rememberUiLocales } from '../http/locale.ts';
import { withFirstPartyConsent } from './first-party-consent.ts';
import { saveInteractionResult, type Interaction } from './interaction-result.ts';

/** Set by /signup on its way through the portal's sign-in, so the sign-in page opens on the sign-up form. */
export const signupIntentCookie = 'uq_signup';

/**
 * Sign-up always happens inside an authorization request, so the new account ends up signed in
 * where it came from: /interaction/:uid/signup for a service's request, and /signup (on its own)
 * goes through the account portal's own request and lands on /account.
 */
/** The catalogue's names of the regions a person may choose as their home (data residency). */
const regionLabels = { eu: 'region.eu', us: 'region.us', in: 'region.in' } as const;

export function signupRoutes(hub: Pick<AppContext, 'config' | 'db' | 'hasher' | 'holder' | 'limits' | 'logger' | 'mail' | 'mailer' | 'views'>): Router {
  const router = new Router();
  const { holder, views, config } = hub;

  async function signupPage(ctx: RouterContext, interaction: Interaction, values: Record<string, unknown> = {}, status = 200) {
    const client = await holder.current.Client.find(interaction.params.client_id as string);
    const clientName = client?.clientName && client.clientId !== 'uniqverse-portal' ? client.clientName : null;
    render(ctx, views, 'interaction/signup.njk', {
      title: 'Create your account',
      action: `/interaction/${interaction.uid}/signup`,
      signInUrl: `/interaction/${interaction.uid}`,
      clientName,
      fields: {},
      regions: config.regions.map((r) => ({ value: r.region, label: regionLabels[r.region] })),
      defaultRegion: config.defaultRegion,
      ...values,
    }, status);
  }

  async function openInteraction(ctx: RouterContext): Promise<Interaction> {
    const interaction = await holder.current.interactionDetails(ctx.req, ctx.res);
    rememberUiLocales(ctx, interaction);
    if (interaction.uid !== ctx.params.uid) ctx.throw(400, 'This page belongs to another sign-in attempt. Start again from the app.');
    if (interaction.prompt.name !== 'login') ctx.throw(400, 'You are already signed in. Go back to the app.');
    return interaction;
  }

  router.get('/signup', (ctx) => {
    const uid = typeof ctx.query.interaction === 'string' ? ctx.query.interaction : '';
    if (/^[\w-]{10,64}$/.test(uid)) return ctx.redirect(`/interaction/${uid}/signup`);
    ctx.cookies.set(signupIntentCookie, '1', { httpOnly: true, sameSite: 'lax', secure: config.secureCookies, maxAge: 10 * 60_000, path: '/interaction' });
    ctx.redirect('/account/signin?return_to=%2Faccount');
  });

  router.get('/interaction/:uid/signup', async (ctx) => {
    const interaction = await openInteraction(ctx);
    ctx.cookies.set(signupIntentCookie, null, { path: '/interaction' });
    await signupPage(ctx, interaction, { email: (interaction.params.login_hint as string | undefined) ?? '' });
  });

  router.post('/interaction/:uid/signup', formBody, async (ctx) => {
    const interaction = await openInteraction(ctx);
    const body = ctx.request.body as Record<string, unknown>;
    const origin = { ip: ctx.ip, userAgent: ctx.get('user-agent') || null };
    await handleForm(
      ctx,
      async () => {
        const user = await signUp({ db: hub.db, hasher: hub.hasher, limits: hub.limits, mailer: hub.mailer, mail: hub.mail, issuer: config.issuer }, body, origin);
        await recordSignIn({ db: hub.db, mailer: hub.mailer, mail: hub.mail, logger: hub.logger, secureCookies: config.secureCookies, holder }, ctx, user, ['pwd'], interaction);
        const login = { login: { accountId: user.id, amr: ['pwd'], acr: 'urn:uniqverse:pwd', remember: true } };
        const to = await saveInteractionResult(interaction, await withFirstPartyConsent(holder.current, hub.db, interaction, login, holder.caches.accounts), { mergeWithLastSubmission: false });
        ctx.status = 303;
        ctx.redirect(to);
      },
      (problem) => signupPage(ctx, interaction, { name: body.name, email: body.email, region: body.region, error: problem.summary, fields: problem.fields }),
    );
  });

  return router;
}
