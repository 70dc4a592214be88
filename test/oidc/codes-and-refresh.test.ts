import test from 'ava';
import * as oidc from 'openid-client';
import { callbackUrl, makeClient } from '../helpers/fixtures.ts';
import { authorize, basic, oauthError, postForm, scene, signedInTokens, tokenRequest } from '../helpers/oidc.ts';

const introspect = (hubUrl: string, client: { client_id: string; client_secret?: string }, token: string) =>
  postForm(`${hubUrl}/token/introspection`, { token }, { authorization: basic(client) });

test.serial('20 parallel redemptions of one code: exactly one wins, the rest get invalid_grant, and the grant is revoked', async (t) => {
  const s = await scene(t);
  const { callback, verifier } = await authorize(s);
  const form = { grant_type: 'authorization_code', code: callback.searchParams.get('code')!, redirect_uri: callbackUrl, code_verifier: verifier };

  const answers = await Promise.all(Array.from({ length: 20 }, () => tokenRequest(s.hub, s.client, form)));
  const statuses = answers.map((a) => a.status);
  t.is(statuses.filter((status) => status === 200).length, 1, `statuses: ${statuses.join(',')}`);
  for (const loser of answers.filter((a) => a.status !== 200)) {
    t.is(loser.status, 400);
    t.is(loser.json.error, 'invalid_grant');
  }

  // A replayed code means it leaked: whatever the winner got is dead.
  const winner = answers.find((a) => a.status === 200)!.json as { access_token: string; refresh_token: string };
  t.truthy(winner.refresh_token);
  const refresh = await tokenRequest(s.hub, s.client, { grant_type: 'refresh_token', refresh_token: winner.refresh_token });
  t.is(refresh.status, 400);
  t.is(refresh.json.error, 'invalid_grant');
  const introspection = await introspect(s.hub.url, s.client, winner.access_token);
  t.is(introspection.status, 200);
  t.false(introspection.json.active);
  const userinfo = await fetch(`${s.hub.url}/me`, { headers: { authorization: `Bearer ${winner.access_token}` } });
  t.is(userinfo.status, 401);
});

test.serial('a code redeemed twice in a row: the second gets invalid_grant and revokes what the first got', async (t) => {
  const s = await scene(t);
  const { callback, verifier, state } = await authorize(s);
  const first = await oidc.authorizationCodeGrant(s.rp, callback, { pkceCodeVerifier: verifier, expectedState: state });
  t.is(await oauthError(t, oidc.authorizationCodeGrant(s.rp, callback, { pkceCodeVerifier: verifier, expectedState: state })), 'invalid_grant');
  t.is(await oauthError(t, oidc.refreshTokenGrant(s.rp, first.refresh_token!)), 'invalid_grant');
  t.false((await oidc.tokenIntrospection(s.rp, first.access_token)).active);
});

test.serial('refresh tokens rotate on every use, and each new one works', async (t) => {
  const s = await scene(t);
  const tokens = await signedInTokens(s);
  const seen = new Set([tokens.refresh_token!]);
  let current = tokens.refresh_token!;
  for (let i = 0; i < 3; i++) {
    const next = await oidc.refreshTokenGrant(s.rp, current);
    t.truthy(next.refresh_token);
    t.false(seen.has(next.refresh_token!), 'a new refresh token every time');
    seen.add(next.refresh_token!);
    t.true((await oidc.tokenIntrospection(s.rp, next.access_token)).active);
    current = next.refresh_token!;
  }
});

test.serial('10 parallel uses of one refresh token: at most one succeeds, the rest get invalid_grant, never a 500', async (t) => {
  const s = await scene(t);
  const tokens = await signedInTokens(s);
  const answers = await Promise.all(
    Array.from({ length: 10 }, () => tokenRequest(s.hub, s.client, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! })),
  );
  const statuses = answers.map((a) => a.status);
  t.true(statuses.filter((status) => status === 200).length <= 1, `statuses: ${statuses.join(',')}`);
  for (const loser of answers.filter((a) => a.status !== 200)) {
    t.is(loser.status, 400, loser.text);
    t.is(loser.json.error, 'invalid_grant');
  }
  // Parallel reuse is reuse: the family is gone, including whatever the winner got.
  for (const winner of answers.filter((a) => a.status === 200)) {
    const refreshed = winner.json as { access_token: string; refresh_token: string };
    t.is(await oauthError(t, oidc.refreshTokenGrant(s.rp, refreshed.refresh_token)), 'invalid_grant');
    t.false((await oidc.tokenIntrospection(s.rp, refreshed.access_token)).active);
  }
  t.false((await oidc.tokenIntrospection(s.rp, tokens.access_token)).active);
});

test.serial('reusing a rotated refresh token revokes the whole family', async (t) => {
  const s = await scene(t);
  const tokens = await signedInTokens(s);
  const second = await oidc.refreshTokenGrant(s.rp, tokens.refresh_token!);
  const third = await oidc.refreshTokenGrant(s.rp, second.refresh_token!);
  t.true((await oidc.tokenIntrospection(s.rp, third.access_token)).active);

  // The stolen first token comes back.
  t.is(await oauthError(t, oidc.refreshTokenGrant(s.rp, tokens.refresh_token!)), 'invalid_grant');

  t.is(await oauthError(t, oidc.refreshTokenGrant(s.rp, third.refresh_token!)), 'invalid_grant');
  for (const accessToken of [tokens.access_token, second.access_token, third.access_token]) {
    t.false((await oidc.tokenIntrospection(s.rp, accessToken)).active);
  }
});

test.serial('a refresh token of one client is refused to another client', async (t) => {
  const s = await scene(t);
  const tokens = await signedInTokens(s);
  const thief = await makeClient(s.hub, { service: s.service.slug });
  const stolen = await tokenRequest(s.hub, thief, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! });
  t.is(stolen.status, 400);
  t.is(stolen.json.error, 'invalid_grant');
  // The rightful client still refreshes.
  t.truthy((await oidc.refreshTokenGrant(s.rp, tokens.refresh_token!)).access_token);
});
