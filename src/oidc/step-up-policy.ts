import type { Knex } from 'knex';
import { interactionPolicy } from 'oidc-provider';
import { acrMultiFactor, needsSecondFactor } from '../identity/second-factor.ts';

/**
 * The default prompts plus one login check: a request with acr_values=urn:uniqverse:mfa, in a
 * session that was not signed in with a second factor, asks the person to sign in again
 * (password, then the second factor; or a passkey), if their account has a second factor at
 * all. An account without one cannot do better, so it is not asked again and again: the client
 * sees acr urn:uniqverse:pwd and decides. max_age needs nothing here: the provider's own
 * max_age check already asks for a fresh sign-in.
 */
export function stepUpPolicy(db: Knex) {
  const policy = interactionPolicy.base();
  const { Check } = interactionPolicy;
  policy.get('login')!.checks.add(
    new Check('acr_mfa', 'multi-factor authentication was requested', async (ctx) => {
      const requested = String(ctx.oidc.params?.acr_values ?? '').split(' ');
      const session = ctx.oidc.session;
      if (!requested.includes(acrMultiFactor) || ctx.oidc.result?.login || !session?.accountId) return Check.NO_NEED_TO_PROMPT;
      if (session.acr === acrMultiFactor) return Check.NO_NEED_TO_PROMPT;
      return (await needsSecondFactor(db, session.accountId)) ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT;
    }),
  );
  return policy;
}
