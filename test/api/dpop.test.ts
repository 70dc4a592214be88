import test from 'ava';
import * as oidc from 'openid-client';
import { makeClient, makePerson, makeService, relyingParty } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { authorize } from '../helpers/oidc.ts';

test('a DPoP-bound hub token works only with a fresh proof from its key', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepyweb', { firstParty: true });
  const person = await makePerson(hub);
  const client = await makeClient(hub, { service: 'vezepyweb', type: 'native' });
  const rp = await relyingParty(hub, client);
  oidc.allowInsecureRequests(rp);
  const DPoP = oidc.getDPoPHandle(rp, await oidc.randomDPoPKeyPair('ES256'));
  const { callback, verifier, state } = await authorize({ hub, rp, person }, { resource: `${hub.url}/hub`, scope: 'openid hub' });
  const tokens = await oidc.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier, expectedState: state }, undefined, { DPoP });
  t.is(tokens.token_type.toLowerCase(), 'dpop');

  const withProof = await oidc.fetchProtectedResource(rp, tokens.access_token, new URL(`${hub.url}/hub/entitlements`), 'GET', undefined, undefined, { DPoP });
  t.is(withProof.status, 200);
  t.deepEqual(await withProof.json(), { entitlements: [] });

  const bare = await fetch(`${hub.url}/hub/entitlements`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  t.is(bare.status, 401);
  t.regex(bare.headers.get('www-authenticate') ?? '', /^DPoP /);

  // A proof made with another key, or for another URL, does not count.
  const otherKey = oidc.getDPoPHandle(rp, await oidc.randomDPoPKeyPair('ES256'));
  const stolen = await oidc.fetchProtectedResource(rp, tokens.access_token, new URL(`${hub.url}/hub/entitlements`), 'GET', undefined, undefined, { DPoP: otherKey }).catch((e: unknown) => e);
  t.is((stolen as Response).status ?? (stolen as { status?: number }).status, 401);
});
