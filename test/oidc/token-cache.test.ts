import { randomBytes } from 'node:crypto';
import test from 'ava';
import { realBackends, testDatabase } from '../helpers/backend.ts';
import { startTestHub } from '../helpers/hub.ts';
import * as oidc from 'openid-client';
import { callbackUrl } from '../helpers/fixtures.ts';
import { authorize, basic, eventually, listeningUrl, postForm, scene, sceneOn, signedInTokens } from '../helpers/oidc.ts';

// Tokens, grants, sessions and accounts are cached in each instance (src/db/change-feed.ts): these
// check that no cached entry outlives a change to its row, whoever writes it.

const userinfo = (url: string, token: string) => fetch(`${url}/me`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);

test('userinfo and introspection are answered from the cache, and a revoked token is refused at once', async (t) => {
  const s = await scene(t);
  const tokens = await signedInTokens(s);
  t.is(await userinfo(s.hub.url, tokens.access_token), 200);
  t.true(s.hub.holder.caches.models.size > 0, 'the access token, grant and session are cached');
  t.is(await userinfo(s.hub.url, tokens.access_token), 200);
  const revoked = await postForm(`${s.hub.url}/token/revocation`, { token: tokens.access_token, token_type_hint: 'access_token' }, { authorization: basic(s.client) });
  t.is(revoked.status, 200);
  t.is(await userinfo(s.hub.url, tokens.access_token), 401);
  const introspection = await postForm(`${s.hub.url}/token/introspection`, { token: tokens.access_token }, { authorization: basic(s.client) });
  t.false(introspection.json.active);
});

test('a token or grant ended with SQL anywhere in the process is refused at once', async (t) => {
  const s = await scene(t);
  const first = await signedInTokens(s);
  t.is(await userinfo(s.hub.url, first.access_token), 200);
  await s.hub.db('oidc_models').where({ model: 'AccessToken' }).delete();
  t.is(await userinfo(s.hub.url, first.access_token), 401);

  const second = await signedInTokens(s);
  t.is(await userinfo(s.hub.url, second.access_token), 200);
  await s.hub.db('oidc_models').where({ model: 'Grant' }).delete();
  t.is(await userinfo(s.hub.url, second.access_token), 401, 'the grant is gone, so its token is no good');
});

test('a disabled account is refused at once, though it was cached', async (t) => {
  const s = await scene(t);
  const tokens = await signedInTokens(s);
  t.is(await userinfo(s.hub.url, tokens.access_token), 200);
  await s.hub.db('users').where({ id: s.person.id }).update({ disabled_at: new Date() });
  t.is(await userinfo(s.hub.url, tokens.access_token), 401);
});

const emailAt = async (url: string, token: string) =>
  ((await (await fetch(`${url}/me`, { headers: { authorization: `Bearer ${token}` } })).json()) as { email?: string }).email;

test('a privacy choice reaches the claims at once, though the account was cached', async (t) => {
  const s = await scene(t);
  const tokens = await signedInTokens(s);
  t.is(await emailAt(s.hub.url, tokens.access_token), s.person.email);
  await s.hub.db('service_consents').insert({ user_id: s.person.id, service_id: s.service.id, share_email: false });
  t.is(await emailAt(s.hub.url, tokens.access_token), undefined);
  await s.hub.db('service_consents').where({ user_id: s.person.id }).update({ share_email: true });
  t.is(await emailAt(s.hub.url, tokens.access_token), s.person.email);
});

test('a refresh token spent once cannot be spent again, cached or not', async (t) => {
  const s = await scene(t);
  const tokens = await signedInTokens(s);
  const form = { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! };
  t.is((await postForm(`${s.hub.url}/token`, form, { authorization: basic(s.client) })).status, 200);
  const again = await postForm(`${s.hub.url}/token`, form, { authorization: basic(s.client) });
  t.is(again.status, 400);
  t.is(again.json.error, 'invalid_grant');
});

test('the code a sign-in made is redeemed from the cache: the token request reads no code from the database', async (t) => {
  const s = await scene(t);
  const { callback, verifier, state } = await authorize(s);
  const codeReads: string[] = [];
  const onQuery = (query: { sql?: string; bindings?: unknown[] }) => {
    if (/^select .* from "oidc_models"/i.test(query.sql ?? '') && query.bindings?.includes('AuthorizationCode')) codeReads.push(query.sql!);
  };
  s.hub.db.on('query', onQuery);
  t.teardown(() => void s.hub.db.off('query', onQuery));
  const tokens = await oidc.authorizationCodeGrant(s.rp, callback, { pkceCodeVerifier: verifier, expectedState: state });
  t.truthy(tokens.access_token);
  t.deepEqual(codeReads, []);
  // Spent, it is read from the database again, where it is marked consumed: a replay is refused and revokes the grant.
  t.is((await postForm(`${s.hub.url}/token`, { grant_type: 'authorization_code', code: callback.searchParams.get('code')!, redirect_uri: callbackUrl, code_verifier: verifier }, { authorization: basic(s.client) })).json.error, 'invalid_grant');
  t.is(await userinfo(s.hub.url, tokens.access_token), 401);
});

if (realBackends) {
  test.serial('two instances: what one ends, the other refuses within a moment', async (t) => {
    const database = await testDatabase(t);
    const secret = randomBytes(32).toString('base64url');
    const a = await startTestHub(t, { database, secret });
    const b = await startTestHub(t, { database, secret, env: { ISSUER: a.url } });
    const bUrl = listeningUrl(b);
    const s = await sceneOn(a);
    const tokens = await signedInTokens(s);
    t.is(await userinfo(a.url, tokens.access_token), 200);
    t.is(await userinfo(bUrl, tokens.access_token), 200);
    t.true(b.holder.caches.models.size > 0);

    const revoked = await postForm(`${a.url}/token/revocation`, { token: tokens.access_token }, { authorization: basic(s.client) });
    t.is(revoked.status, 200);
    const started = Date.now();
    await eventually(async () => ((await userinfo(bUrl, tokens.access_token)) === 401 ? true : undefined), 1000, 5);
    t.log(`B refused the revoked token after ${Date.now() - started} ms`);

    const again = await signedInTokens(s);
    t.is(await emailAt(bUrl, again.access_token), s.person.email);
    await a.db('service_consents').insert({ user_id: s.person.id, service_id: s.service.id, share_email: false });
    await eventually(async () => ((await emailAt(bUrl, again.access_token)) === undefined ? true : undefined), 1000, 5);
    t.is(await userinfo(bUrl, again.access_token), 200);
    await a.db('users').where({ id: s.person.id }).update({ disabled_at: new Date() });
    await eventually(async () => ((await userinfo(bUrl, again.access_token)) === 401 ? true : undefined), 1000, 5);
    t.pass();
  });

  test.serial('two instances: a code redeemed on one and replayed at once on the other, which wrote and still holds it, is refused there, and the grant revoked', async (t) => {
    const database = await testDatabase(t);
    const secret = randomBytes(32).toString('base64url');
    const a = await startTestHub(t, { database, secret });
    const b = await startTestHub(t, { database, secret, env: { ISSUER: a.url } });
    const s = await sceneOn(a);
    for (let round = 0; round < 5; round++) {
      const { callback, verifier } = await authorize(s);
      const form = { grant_type: 'authorization_code', code: callback.searchParams.get('code')!, redirect_uri: callbackUrl, code_verifier: verifier };
      const onB = await postForm(`${listeningUrl(b)}/token`, form, { authorization: basic(s.client) });
      t.is(onB.status, 200);
      const replayed = await postForm(`${a.url}/token`, form, { authorization: basic(s.client) });
      t.is(replayed.status, 400);
      t.is(replayed.json.error, 'invalid_grant');
      t.is(await userinfo(listeningUrl(b), onB.json.access_token as string), 401, 'the tokens the code gave are revoked');
    }
  });
}
