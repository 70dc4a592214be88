import type { InteractionResults } from 'oidc-provider';

/**
 * What a finished sign-in hands to the provider. `ts` is the moment the person proved who they
 * are (the ID token's auth_time): the provider replays this result when the consent step that
 * follows in the same authorization request merges it (see finishConsent in interactions.ts),
 * and without `ts` each replay would move auth_time to the time of the replay.
 */
export const loginResult = (accountId: string, amr: string[], acr: string): InteractionResults => ({
  login: { accountId, amr, acr, ts: Math.floor(Date.now() / 1000), remember: true },
});
