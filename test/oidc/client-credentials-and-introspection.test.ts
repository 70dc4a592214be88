import test from 'ava';
import * as oidc from 'openid-client';
import { hubResource } from '../../src/oidc/provider.ts';
import { callbackUrl, makeClient, makeService, relyingParty } from '../helpers/fixtures.ts';
import { authorize, basic, oauthError, postForm, scene, signedInTokens, verifyAccessToken } from '../helpers/oidc.ts';

test.serial('client credentials for a service\'s own resource give an ES256 at+jwt for that service and no person', async (t) => {
  const { hub, service, client, rp } = await scene(t);
  const tokens = await oidc.clientCredentialsGrant(rp, { resource: service.resource, scope: 'read' });
  t.is(tokens.token_type.toLowerCase(), 'bearer');
  const { payload, protectedHeader } = await verifyAccessToken(hub, tokens.access_token, service.resource);
  t.is(protectedHeader.alg, 'ES256');
  t.is(protectedHeader.typ, 'at+jwt');
  t.is(payload.aud, service.resource);
  t.is(payload.client_id, client.client_id);
  t.is(payload.iss, hub.url);
  // No person behind it: the subject is the client itself, and the tiers claim is present but empty,
  // so a service that reads `entitlements` grants a machine token no tier.
  t.is(payload.sub, client.client_id);
  t.deepEqual(payload.entitlements, []);
  t.is(payload.scope, 'read');
  t.true(typeof payload.exp === 'number' && payload.exp > Date.now() / 1000);
});

test.serial('client credentials for another service\'s resource are refused with invalid_target', async (t) => {
  const { hub, rp } = await scene(t);
  const other = await makeService(hub, 'vezepyemail', { firstParty: true });
  t.is(await oauthError(t, oidc.clientCredentialsGrant(rp, { resource: other.resource })), 'invalid_target');
  t.is(await oauthError(t, oidc.clientCredentialsGrant(rp, { resource: 'urn:veze:service:nobody' })), 'invalid_target');
});

test.serial('client credentials for the hub resource give a JWT whose audience is <issuer>/hub', async (t) => {
  const { hub, client, rp } = await scene(t);
  const resource = hubResource(hub.url);
  t.is(resource, `${hub.url}/hub`);
  const tokens = await oidc.clientCredentialsGrant(rp, { resource, scope: 'hub' });
  const { payload, protectedHeader } = await verifyAccessToken(hub, tokens.access_token, resource);
  t.is(protectedHeader.alg, 'ES256');
  t.is(payload.aud, resource);
  t.is(payload.client_id, client.client_id);
  t.is(payload.entitlements, undefined);
});

test.serial('introspection: a client sees its own token active, and a revoked one inactive', async (t) => {
  const s = await scene(t);
  const tokens = await signedInTokens(s);
  const active = await oidc.tokenIntrospection(s.rp, tokens.access_token);
  t.true(active.active);
  t.is(active.sub, s.person.id);
  t.is(active.client_id, s.client.client_id);
  t.is(active.iss, s.hub.url);

  const refresh = await oidc.tokenIntrospection(s.rp, tokens.refresh_token!, { token_type_hint: 'refresh_token' });
  t.true(refresh.active);
  t.is(refresh.sub, s.person.id);

  await oidc.tokenRevocation(s.rp, tokens.access_token);
  t.false((await oidc.tokenIntrospection(s.rp, tokens.access_token)).active);
  // RFC 7009 lets the server end the refresh token of a revoked access token too, and the provider does.
  t.false((await oidc.tokenIntrospection(s.rp, tokens.refresh_token!)).active);

  const unknown = await oidc.tokenIntrospection(s.rp, 'not-a-token-we-issued');
  t.deepEqual(unknown, { active: false });
});

test.serial('introspection: another client of another service learns nothing about a token', async (t) => {
  const s = await scene(t);
  const tokens = await signedInTokens(s);
  const otherService = await makeService(s.hub);
  const stranger = await makeClient(s.hub, { service: otherService.slug });
  const answer = await postForm(`${s.hub.url}/token/introspection`, { token: tokens.access_token }, { authorization: basic(stranger) });
  t.is(answer.status, 200);
  t.deepEqual(answer.json, { active: false });
});

test.serial('introspection: a public client is refused (it cannot authenticate)', async (t) => {
  const s = await scene(t, { client: { type: 'native' } });
  const tokens = await signedInTokens(s);
  const answer = await postForm(`${s.hub.url}/token/introspection`, { token: tokens.access_token, client_id: s.client.client_id });
  t.true(answer.status === 200 || answer.status === 400 || answer.status === 401, `status ${answer.status}`);
  t.not(answer.json.active, true);
  t.is(answer.json.sub, undefined);
  const viaLibrary = await oidc.tokenIntrospection(s.rp, tokens.access_token).catch((error: oidc.ResponseBodyError) => ({ active: false, error: error.error }));
  t.false(viaLibrary.active);
});

test.serial('revocation of an access token ends it at userinfo', async (t) => {
  const s = await scene(t);
  const tokens = await signedInTokens(s);
  t.is((await oidc.fetchUserInfo(s.rp, tokens.access_token, s.person.id)).sub, s.person.id);
  await oidc.tokenRevocation(s.rp, tokens.access_token, { token_type_hint: 'access_token' });
  const response = await fetch(`${s.hub.url}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  t.is(response.status, 401);
  t.false((await oidc.tokenIntrospection(s.rp, tokens.access_token)).active);
});

test.serial('revoking an access token keeps the person\'s consent: a silent sign-in still works afterwards', async (t) => {
  const s = await scene(t);
  const { callback, verifier, state, agent } = await authorize(s, { scope: 'openid email' });
  const tokens = await oidc.authorizationCodeGrant(s.rp, callback, { pkceCodeVerifier: verifier, expectedState: state });
  await oidc.tokenRevocation(s.rp, tokens.access_token);
  t.false((await oidc.tokenIntrospection(s.rp, tokens.access_token)).active);

  const silent = oidc.buildAuthorizationUrl(s.rp, {
    redirect_uri: callbackUrl,
    scope: 'openid email',
    prompt: 'none',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  const { url } = await agent.follow(silent.href, s.hub.url);
  const answer = new URL(url);
  t.is(answer.searchParams.get('error'), null, url);
  const again = await oidc.authorizationCodeGrant(s.rp, answer, { pkceCodeVerifier: verifier });
  t.true((await oidc.tokenIntrospection(s.rp, again.access_token)).active);
});

test.serial('revocation of a refresh token ends the refresh token and the grant\'s access tokens', async (t) => {
  const s = await scene(t);
  const tokens = await signedInTokens(s);
  await oidc.tokenRevocation(s.rp, tokens.refresh_token!, { token_type_hint: 'refresh_token' });
  t.is(await oauthError(t, oidc.refreshTokenGrant(s.rp, tokens.refresh_token!)), 'invalid_grant');
  t.false((await oidc.tokenIntrospection(s.rp, tokens.refresh_token!)).active);
  t.false((await oidc.tokenIntrospection(s.rp, tokens.access_token)).active);
  // Revoking something unknown or already revoked is not an error (RFC 7009).
  await t.notThrowsAsync(oidc.tokenRevocation(s.rp, tokens.refresh_token!));
});

test.serial('a client cannot revoke another client\'s tokens', async (t) => {
  const s = await scene(t);
  const tokens = await signedInTokens(s);
  const stranger = await makeClient(s.hub, { service: s.service.slug });
  for (const token of [tokens.access_token, tokens.refresh_token!]) {
    const answer = await postForm(`${s.hub.url}/token/revocation`, { token }, { authorization: basic(stranger) });
    t.is(answer.status, 400);
    t.is(answer.json.error, 'invalid_request');
  }
  t.true((await oidc.tokenIntrospection(s.rp, tokens.access_token)).active);
  t.truthy((await oidc.refreshTokenGrant(s.rp, tokens.refresh_token!)).access_token);
});

test.serial('a public client revokes its own refresh token with its client_id', async (t) => {
  const s = await scene(t, { client: { type: 'native' } });
  const tokens = await signedInTokens(s);
  const rp = await relyingParty(s.hub, s.client);
  await oidc.tokenRevocation(rp, tokens.refresh_token!);
  t.is(await oauthError(t, oidc.refreshTokenGrant(rp, tokens.refresh_token!)), 'invalid_grant');
});

