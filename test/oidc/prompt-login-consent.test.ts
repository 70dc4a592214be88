import test from 'ava';
import * as oidc from 'openid-client';
import { authorize, scene } from '../helpers/oidc.ts';
import { UserAgent } from '../helpers/user-agent.ts';

/**
 * `prompt=login consent` is what a service sends to re-authenticate a person and get a refresh
 * token (the provider grants offline_access only with prompt=consent). The consent step after the
 * sign-in must not undo it: the provider would ask for the sign-in again, then consent again,
 * without end. Through the sign-in and consent pages of a third-party service, with a session.
 */
test('prompt=login consent at a third-party service: one sign-in, one consent, then the callback, with a fresh auth_time and a refresh token', async (t) => {
  const s = await scene(t, { firstParty: false });
  const agent = new UserAgent();
  await authorize(s, {}, agent);
  const start = Math.floor(Date.now() / 1000);
  // The helper signs in and allows whenever asked, and gives up after five pages.
  const again = await authorize(s, { prompt: 'login consent' }, agent);
  const tokens = await oidc.authorizationCodeGrant(s.rp, again.callback, { pkceCodeVerifier: again.verifier, expectedState: again.state });
  const claims = tokens.claims()!;
  t.is(claims.sub, s.person.id);
  t.true(Number(claims.auth_time) >= start);
  t.deepEqual(claims.amr, ['pwd']);
  t.is(claims.acr, 'urn:uniqverse:pwd');
  t.truthy(tokens.refresh_token);
});
