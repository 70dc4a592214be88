import test from 'ava';
import * as jose from 'jose';
import * as oidc from 'openid-client';
import { callbackUrl } from '../helpers/fixtures.ts';
import { UserAgent, signInThroughPages } from '../helpers/user-agent.ts';
import { authorize, oauthError, scene, verifyAccessToken } from '../helpers/oidc.ts';

test.serial('PAR: a pushed authorization request, then /auth?request_uri=…, signs the person in', async (t) => {
  const s = await scene(t);
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = await oidc.buildAuthorizationUrlWithPAR(s.rp, {
    redirect_uri: callbackUrl,
    scope: 'openid email',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  });
  t.is(url.pathname, '/auth');
  t.regex(url.searchParams.get('request_uri') ?? '', /^urn:ietf:params:oauth:request_uri:/);
  t.is(url.searchParams.get('scope'), null, 'the request itself stays at the hub');

  const callback = await signInThroughPages(new UserAgent(), s.hub.url, url.href, s.person.email, s.person.password);
  const tokens = await oidc.authorizationCodeGrant(s.rp, new URL(callback), { pkceCodeVerifier: verifier, expectedState: state });
  t.is(tokens.claims()!.sub, s.person.id);
  t.is((await oidc.fetchUserInfo(s.rp, tokens.access_token, s.person.id)).email, s.person.email);

  // A request_uri is good for one authorization only.
  const again = await fetch(url, { redirect: 'manual', headers: { accept: 'text/html' } });
  const refused = new URL(again.headers.get('location')!);
  t.true(refused.href.startsWith(callbackUrl), 'errors go only to the registered redirect URI');
  t.is(refused.searchParams.get('error'), 'invalid_request_uri');
  t.is(refused.searchParams.get('code'), null);
});

test.serial('PAR: the pushed request is checked like any other (PKCE required, redirect URI registered)', async (t) => {
  const s = await scene(t);
  const noPkce = await t.throwsAsync<oidc.ResponseBodyError>(oidc.buildAuthorizationUrlWithPAR(s.rp, { redirect_uri: callbackUrl, scope: 'openid' }));
  t.is(noPkce?.error, 'invalid_request');
  const challenge = await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier());
  const badRedirect = await t.throwsAsync<oidc.ResponseBodyError>(
    oidc.buildAuthorizationUrlWithPAR(s.rp, { redirect_uri: 'http://127.0.0.1:9@evil.test/callback', scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256' }),
  );
  t.is(badRedirect?.status, 400);
  t.is(badRedirect?.error, 'invalid_request');
  t.regex(badRedirect?.error_description ?? '', /redirect_uri/);

  const unknown = await fetch(`${s.hub.url}/auth?client_id=${s.client.client_id}&request_uri=urn:ietf:params:oauth:request_uri:nope`, {
    redirect: 'manual',
    headers: { accept: 'text/html' },
  });
  const location = new URL(unknown.headers.get('location')!);
  t.true(location.href.startsWith(callbackUrl));
  t.is(location.searchParams.get('error'), 'invalid_request_uri');
});

test.serial('DPoP: a DPoP-bound access token works at userinfo with a proof, and not as a bearer token', async (t) => {
  const s = await scene(t);
  const keyPair = await oidc.randomDPoPKeyPair('ES256');
  const dpop = oidc.getDPoPHandle(s.rp, keyPair);
  const { callback, verifier, state } = await authorize(s, { scope: 'openid email' });
  const tokens = await oidc.authorizationCodeGrant(s.rp, callback, { pkceCodeVerifier: verifier, expectedState: state }, undefined, { DPoP: dpop });
  t.is(tokens.token_type.toLowerCase(), 'dpop');

  const info = await oidc.fetchUserInfo(s.rp, tokens.access_token, s.person.id, { DPoP: dpop });
  t.is(info.email, s.person.email);

  const asBearer = await fetch(`${s.hub.url}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  t.is(asBearer.status, 401);

  // A proof made with another key does not fit the token.
  const thief = oidc.getDPoPHandle(s.rp, await oidc.randomDPoPKeyPair('ES256'));
  const stolen = await t.throwsAsync(oidc.fetchUserInfo(s.rp, tokens.access_token, s.person.id, { DPoP: thief }));
  t.truthy(stolen);

  const introspection = await oidc.tokenIntrospection(s.rp, tokens.access_token);
  t.true(introspection.active);
  t.is(introspection.token_type, 'DPoP');
  t.is((introspection.cnf as { jkt: string }).jkt, await jose.calculateJwkThumbprint(await jose.exportJWK(keyPair.publicKey)));
});

test.serial('DPoP: a token for a service is a JWT with token_type DPoP and cnf.jkt of the client\'s key', async (t) => {
  const s = await scene(t);
  const keyPair = await oidc.randomDPoPKeyPair('ES256');
  const dpop = oidc.getDPoPHandle(s.rp, keyPair);
  const { callback, verifier, state } = await authorize(s, { scope: 'openid read', resource: s.service.resource });
  const tokens = await oidc.authorizationCodeGrant(s.rp, callback, { pkceCodeVerifier: verifier, expectedState: state }, undefined, { DPoP: dpop });
  t.is(tokens.token_type.toLowerCase(), 'dpop');
  const { payload, protectedHeader } = await verifyAccessToken(s.hub, tokens.access_token, s.service.resource);
  t.is(protectedHeader.alg, 'ES256');
  const thumbprint = await jose.calculateJwkThumbprint(await jose.exportJWK(keyPair.publicKey));
  t.deepEqual(payload.cnf, { jkt: thumbprint });
});

test.serial('DPoP: a public client\'s refresh token is bound to its key', async (t) => {
  const s = await scene(t, { client: { type: 'native' } });
  const keyPair = await oidc.randomDPoPKeyPair('ES256');
  const dpop = oidc.getDPoPHandle(s.rp, keyPair);
  const { callback, verifier, state } = await authorize(s);
  const tokens = await oidc.authorizationCodeGrant(s.rp, callback, { pkceCodeVerifier: verifier, expectedState: state }, undefined, { DPoP: dpop });
  t.truthy(tokens.refresh_token);

  t.is(await oauthError(t, oidc.refreshTokenGrant(s.rp, tokens.refresh_token!)), 'invalid_grant');
  const other = oidc.getDPoPHandle(s.rp, await oidc.randomDPoPKeyPair('ES256'));
  t.is(await oauthError(t, oidc.refreshTokenGrant(s.rp, tokens.refresh_token!, undefined, { DPoP: other })), 'invalid_grant');
  const refreshed = await oidc.refreshTokenGrant(s.rp, tokens.refresh_token!, undefined, { DPoP: dpop });
  t.is(refreshed.token_type.toLowerCase(), 'dpop');
});

test.serial('DPoP: a malformed proof is refused with invalid_dpop_proof, not a 500', async (t) => {
  const s = await scene(t);
  const answer = await fetch(`${s.hub.url}/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'client_credentials', resource: s.service.resource }),
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${s.client.client_id}:${s.client.client_secret}`).toString('base64')}`,
      dpop: 'not.a.proof',
    },
  });
  t.is(answer.status, 400);
  t.is(((await answer.json()) as { error: string }).error, 'invalid_dpop_proof');
});
