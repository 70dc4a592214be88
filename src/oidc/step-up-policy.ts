import { interactionPolicy } from 'oidc-provider';

export const acrMultiFactorValue = 'urn:uniqverse:mfa';

/**
 * The default prompts plus one login check: a request with acr_values=urn:uniqverse:mfa, in a
 * session that was not signed in with a second factor, asks for sign-in again (password, then
 * the second factor; or a passkey). Once this interaction has a login result it asks no more, so
 * an account without a second factor ends with acr urn:uniqverse:pwd, which the client sees.
 * max_age needs nothing here: the provider's own max_age check already asks for a fresh sign-in.
 */
export function stepUpPolicy() {
  const policy = interactionPolicy.base();
  policy.get('login')!.checks.add(
    new interactionPolicy.Check('acr_mfa', 'multi-factor authentication was requested', (ctx) => {
      const requested = String(ctx.oidc.params?.acr_values ?? '').split(' ');
      if (!requested.includes(acrMultiFactorValue)) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
      if (ctx.oidc.result?.login) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
      if (ctx.oidc.session?.acr === acrMultiFactorValue) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
      return interactionPolicy.Check.REQUEST_PROMPT;
    }),
  );
  return policy;
}
