import test from 'ava';
import * as jose from 'jose';
import * as oidc from 'openid-client';
import { startTestHub } from '../helpers/hub.ts';
import { callbackUrl, grant, makeClient, makePerson, makeService, relyingParty } from '../helpers/fixtures.ts';
import { UserAgent, signInThroughPages } from '../helpers/user-agent.ts';
import { authorize, scene, signedInTokens, tokenRequest, verifyAccessToken } from '../helpers/oidc.ts';

test('a service signs a person in with code + PKCE and gets a JWT made for it, with their tier', async (t) => {
  const hub = await startTestHub(t);
  const person = await makePerson(hub);
  const service = await makeService(hub, 'vezepygame');
  const client = await makeClient(hub, { service: 'vezepygame' });
  await grant(hub, person.email, 'vezepygame', 'pro');
  const rp = await relyingParty(hub, client);

  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(rp, {
    redirect_uri: callbackUrl,
    scope: 'openid email profile offline_access read',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    resource: service.resource,
    prompt: 'consent',
  });
  const callback = await signInThroughPages(new UserAgent(), hub.url, url.href, person.email, person.password);
  t.true(callback.startsWith(callbackUrl), callback);
  const tokens = await oidc.authorizationCodeGrant(rp, new URL(callback), { pkceCodeVerifier: verifier, expectedState: state });

  const claims = tokens.claims()!;
  t.is(claims.sub, person.id);
  t.is(claims.email, person.email);

  const jwks = jose.createRemoteJWKSet(new URL(`${hub.url}/jwks`));
  const { payload, protectedHeader } = await jose.jwtVerify(tokens.access_token, jwks, { issuer: hub.url, audience: service.resource, typ: 'at+jwt' });
  t.is(protectedHeader.alg, 'ES256');
  t.is(payload.sub, person.id);
  t.is(payload.client_id, client.client_id);
  t.deepEqual(payload.entitlements, ['pro']);
  t.regex(String(payload.scope), /\bread\b/);

  const idHeader = jose.decodeProtectedHeader(tokens.id_token!);
  t.is(idHeader.alg, 'RS256');

  // Refresh rotates; the old refresh token is refused afterwards and revokes the grant.
  const refreshed = await oidc.refreshTokenGrant(rp, tokens.refresh_token!);
  t.not(refreshed.refresh_token, tokens.refresh_token);
  const reuse = await t.throwsAsync(oidc.refreshTokenGrant(rp, tokens.refresh_token!));
  t.is((reuse as oidc.ResponseBodyError).error, 'invalid_grant');
  const afterRevocation = await t.throwsAsync(oidc.refreshTokenGrant(rp, refreshed.refresh_token!));
  t.is((afterRevocation as oidc.ResponseBodyError).error, 'invalid_grant');
});

test('a plain OIDC client that sends no resource gets an access token good at userinfo', async (t) => {
  const hub = await startTestHub(t);
  const person = await makePerson(hub, { name: 'Grace Hopper' });
  await makeService(hub, 'vezepyweb', { firstParty: true });
  const client = await makeClient(hub, { service: 'vezepyweb' });
  const rp = await relyingParty(hub, client);
  const verifier = oidc.randomPKCECodeVerifier();
  const url = oidc.buildAuthorizationUrl(rp, {
    redirect_uri: callbackUrl,
    scope: 'openid email profile',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  const callback = await signInThroughPages(new UserAgent(), hub.url, url.href, person.email, person.password);
  const tokens = await oidc.authorizationCodeGrant(rp, new URL(callback), { pkceCodeVerifier: verifier });
  const info = await oidc.fetchUserInfo(rp, tokens.access_token, person.id);
  t.like(info, { sub: person.id, email: person.email, email_verified: true, name: 'Grace Hopper' });
});

test.serial('resource indicators: the JWT carries the tiers in force, and an expired tier is left out', async (t) => {
  const s = await scene(t);
  const expiredAt = new Date(Date.now() - 60_000).toISOString();
  const later = await makeService(s.hub);
  await grant(s.hub, s.person.email, s.service.slug, 'pro');
  await grant(s.hub, s.person.email, later.slug, 'gold', expiredAt);

  const tokens = await signedInTokens(s, { scope: 'openid offline_access read', resource: s.service.resource });
  const { payload } = await verifyAccessToken(s.hub, tokens.access_token, s.service.resource);
  t.deepEqual(payload.entitlements, ['pro']);
  t.is(payload.sub, s.person.id);

  // The same person's tier at this service expires: the next token leaves it out.
  await grant(s.hub, s.person.email, s.service.slug, 'pro', expiredAt);
  const refreshed = await oidc.refreshTokenGrant(s.rp, tokens.refresh_token!, { resource: s.service.resource });
  const after = await verifyAccessToken(s.hub, refreshed.access_token, s.service.resource);
  t.deepEqual(after.payload.entitlements, []);
});

test.serial('resource indicators: a client may not ask for another service\'s resource (invalid_target)', async (t) => {
  const s = await scene(t);
  const other = await makeService(s.hub);
  const verifier = oidc.randomPKCECodeVerifier();
  const url = oidc.buildAuthorizationUrl(s.rp, {
    redirect_uri: callbackUrl,
    scope: 'openid',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    resource: other.resource,
  });
  const response = await fetch(url, { redirect: 'manual' });
  const location = new URL(response.headers.get('location')!, s.hub.url);
  t.true(location.href.startsWith(callbackUrl), location.href);
  t.is(location.searchParams.get('error'), 'invalid_target');
  t.is(location.searchParams.get('code'), null);

  // Nor sneak it in at the token endpoint with a code issued for its own service.
  const { callback, verifier: v2 } = await authorize(s, { scope: 'openid read', resource: s.service.resource });
  const swapped = await tokenRequest(s.hub, s.client, {
    grant_type: 'authorization_code',
    code: callback.searchParams.get('code')!,
    redirect_uri: callbackUrl,
    code_verifier: v2,
    resource: other.resource,
  });
  t.is(swapped.status, 400);
  t.is(swapped.json.error, 'invalid_target');
});

test.serial('resource indicators: a first-party client gets a token for another service, with the tiers there', async (t) => {
  const s = await scene(t, { firstParty: true });
  const game = await makeService(s.hub, 'vezepygame-x');
  await grant(s.hub, s.person.email, game.slug, 'pro');
  const tokens = await signedInTokens(s, { scope: 'openid read', resource: game.resource });
  const { payload } = await verifyAccessToken(s.hub, tokens.access_token, game.resource);
  t.is(payload.aud, game.resource);
  t.deepEqual(payload.entitlements, ['pro']);
  t.is(payload.client_id, s.client.client_id);
});

/** Walks a sign-in by hand: the login form, the password, then each redirect the hub answers with, recorded. */
async function signInRecordingHops(s: Awaited<ReturnType<typeof scene>>, params: Record<string, string>) {
  const agent = new UserAgent();
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(s.rp, { redirect_uri: callbackUrl, code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state, ...params });
  const { response } = await agent.follow(url.href, s.hub.url);
  const uid = /\/interaction\/([\w-]+)\/login/.exec(await response.text())![1]!;
  const posted = await agent.postForm(`${s.hub.url}/interaction/${uid}/login`, { email: s.person.email, password: s.person.password });
  const hops: string[] = [];
  let location = new URL(posted.headers.get('location')!, s.hub.url).href;
  while (location.startsWith(s.hub.url) && hops.length < 6) {
    hops.push(new URL(location).pathname.replace(/[\w-]{20,}/, '<uid>'));
    const next = await agent.request(location);
    if (next.status < 300 || next.status >= 400) break;
    location = new URL(next.headers.get('location')!, s.hub.url).href;
  }
  return { hops, location, verifier, state };
}

test('a first-party service\'s sign-in goes from the password straight back to the service, its grant made with the sign-in: what was asked, less what the person withheld', async (t) => {
  const s = await scene(t, { firstParty: true });
  await s.hub.db('service_consents').insert({ user_id: s.person.id, service_id: s.service.id, share_profile: true, share_email: false, share_activity: true });
  const { hops, location, verifier, state } = await signInRecordingHops(s, { scope: 'openid email profile' });
  t.deepEqual(hops, ['/auth/<uid>'], 'no consent step between the password and the service');
  t.true(location.startsWith(callbackUrl), location);
  const tokens = await oidc.authorizationCodeGrant(s.rp, new URL(location), { pkceCodeVerifier: verifier, expectedState: state });
  t.is(tokens.claims()!.email, undefined, 'the email the person withheld from the service is not in the ID token');
  t.deepEqual(tokens.scope?.split(' ').sort(), ['openid', 'profile']);
  const userinfo = (await oidc.fetchUserInfo(s.rp, tokens.access_token, s.person.id)) as Record<string, unknown>;
  t.is(userinfo.name, s.person.name, 'the profile it was asked for and may have');
  t.is(userinfo.email, undefined);
  const grants = await s.hub.db('oidc_models').where({ model: 'Grant', account_id: s.person.id }).select('payload');
  t.is(grants.length, 1);
  t.like(grants[0].payload, { clientId: s.client.client_id, openid: { scope: 'openid profile' }, rejected: { openid: { scope: 'email' } } });
});

test('a first-party sign-in and its token request read the person\'s sharing choice once, through the account cache; a choice made since holds at the next sign-in', async (t) => {
  const s = await scene(t, { firstParty: true });
  const consentReads: string[] = [];
  const onQuery = (query: { sql?: string }) => {
    if (/^select .*"service_consents"/i.test(query.sql ?? '')) consentReads.push(query.sql!);
  };
  s.hub.db.on('query', onQuery);
  t.teardown(() => void s.hub.db.off('query', onQuery));
  const first = await signInRecordingHops(s, { scope: 'openid email profile' });
  const tokens = await oidc.authorizationCodeGrant(s.rp, new URL(first.location), { pkceCodeVerifier: first.verifier, expectedState: first.state });
  const userinfo = (await oidc.fetchUserInfo(s.rp, tokens.access_token, s.person.id)) as Record<string, unknown>;
  t.is(userinfo.email, s.person.email);
  t.is(consentReads.length, 1, consentReads.join('\n'));

  await s.hub.db('service_consents').insert({ user_id: s.person.id, service_id: s.service.id, share_profile: true, share_email: false, share_activity: true });
  const second = await signInRecordingHops(s, { scope: 'openid email profile' });
  const again = await oidc.authorizationCodeGrant(s.rp, new URL(second.location), { pkceCodeVerifier: second.verifier, expectedState: second.state });
  t.deepEqual(again.scope?.split(' ').sort(), ['openid', 'profile'], 'the email withheld since is not granted');
  t.is(((await oidc.fetchUserInfo(s.rp, again.access_token, s.person.id)) as Record<string, unknown>).email, undefined);
});

test('a third-party service still gets the consent step after the password, and prompt=consent brings it for a first-party one', async (t) => {
  const third = await scene(t);
  t.deepEqual((await signInRecordingHops(third, { scope: 'openid email' })).hops, ['/auth/<uid>', '/interaction/<uid>']);
  const first = await scene(t, { firstParty: true });
  const asked = await signInRecordingHops(first, { scope: 'openid email offline_access', prompt: 'consent' });
  t.deepEqual(asked.hops.slice(0, 2), ['/auth/<uid>', '/interaction/<uid>'], 'the consent step decides offline_access');
});
