import { randomBytes } from 'node:crypto';
import test from 'ava';
import * as jose from 'jose';
import * as oidc from 'openid-client';
import { rotateSigningKeys } from '../../src/oidc/signing-keys.ts';
import { realBackends, testDatabase } from '../helpers/backend.ts';
import { callbackUrl } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { authorize, basic, eventually, listeningUrl, postForm, sceneOn } from '../helpers/oidc.ts';

/** Two hub processes' worth of hubs on one Postgres database, serving one issuer (A's address), as behind a load balancer. */
async function twoInstances(t: Parameters<typeof testDatabase>[0]) {
  const database = await testDatabase(t);
  const secret = randomBytes(32).toString('base64url');
  const env = { KEY_REFRESH_SECONDS: '1' };
  const a = await startTestHub(t, { database, secret, env });
  const b = await startTestHub(t, { database, secret, env: { ...env, ISSUER: a.url } });
  return { a, b, bUrl: listeningUrl(b) };
}

const jwksAt = async (url: string) => (await (await fetch(`${url}/jwks`)).json()) as { keys: Array<{ kid: string }> };

if (!realBackends) {
  test('scale-out needs Postgres', (t) => {
    t.log('skipped: PGlite is single-process (one hub per data directory); run with TEST_DATABASE_URL to test two instances on one database');
    t.pass();
  });
} else {
  test.serial('two instances on one database serve one issuer and publish the same keys', async (t) => {
    const { a, b, bUrl } = await twoInstances(t);
    t.is(b.url, a.url, 'B takes the configured ISSUER, not its own address');
    t.not(bUrl, a.url);
    const discovery = (await (await fetch(`${bUrl}/.well-known/openid-configuration`)).json()) as { issuer: string; token_endpoint: string };
    t.is(discovery.issuer, a.url);
    t.deepEqual(await jwksAt(bUrl), await jwksAt(a.url));
  });

  test.serial('a code obtained at instance A is redeemed at instance B', async (t) => {
    const { a, bUrl } = await twoInstances(t);
    const s = await sceneOn(a);
    const { callback, verifier } = await authorize(s);
    const redeemed = await postForm(
      `${bUrl}/token`,
      { grant_type: 'authorization_code', code: callback.searchParams.get('code')!, redirect_uri: callbackUrl, code_verifier: verifier },
      { authorization: basic(s.client) },
    );
    t.is(redeemed.status, 200, redeemed.text);
    const idToken = redeemed.json.id_token as string;
    const { payload } = await jose.jwtVerify(idToken, jose.createRemoteJWKSet(new URL(`${a.url}/jwks`)), { issuer: a.url, audience: s.client.client_id });
    t.is(payload.sub, s.person.id);

    // …and its refresh token works back at A.
    const refreshed = await oidc.refreshTokenGrant(s.rp, redeemed.json.refresh_token as string);
    t.truthy(refreshed.access_token);
  });

  test.serial('a token minted by A introspects active at B, and a JWT from B verifies with A\'s JWKS', async (t) => {
    const { a, bUrl } = await twoInstances(t);
    const s = await sceneOn(a);
    const { callback, verifier, state } = await authorize(s);
    const tokens = await oidc.authorizationCodeGrant(s.rp, callback, { pkceCodeVerifier: verifier, expectedState: state });
    const introspection = await postForm(`${bUrl}/token/introspection`, { token: tokens.access_token }, { authorization: basic(s.client) });
    t.is(introspection.status, 200);
    t.true(introspection.json.active);
    t.is(introspection.json.sub, s.person.id);
    t.is(introspection.json.iss, a.url);

    const userinfo = await fetch(`${bUrl}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    t.is(userinfo.status, 200);

    const fromB = await postForm(`${bUrl}/token`, { grant_type: 'client_credentials', resource: s.service.resource }, { authorization: basic(s.client) });
    t.is(fromB.status, 200, fromB.text);
    const { payload } = await jose.jwtVerify(fromB.json.access_token as string, jose.createRemoteJWKSet(new URL(`${a.url}/jwks`)), {
      issuer: a.url,
      audience: s.service.resource,
      typ: 'at+jwt',
    });
    t.is(payload.client_id, s.client.client_id);
  });

  test.serial('after a rotation both instances publish the same new keys, and both sign with them', async (t) => {
    const { a, bUrl } = await twoInstances(t);
    const s = await sceneOn(a);
    const added = await rotateSigningKeys(a.db, a.secrets.keys, { activationDelaySeconds: 2 });
    const newKids = added.map((k) => k.kid).sort();
    const es256 = added.find((k) => k.alg === 'ES256')!.kid;

    for (const url of [a.url, bUrl]) {
      await eventually(async () => {
        const kids = (await jwksAt(url)).keys.map((k) => k.kid);
        return newKids.every((kid) => kids.includes(kid)) ? true : undefined;
      }, 10_000);
    }
    t.deepEqual(await jwksAt(bUrl), await jwksAt(a.url));

    for (const url of [a.url, bUrl]) {
      const kid = await eventually(async () => {
        const answer = await postForm(`${url}/token`, { grant_type: 'client_credentials', resource: s.service.resource }, { authorization: basic(s.client) });
        const header = jose.decodeProtectedHeader(answer.json.access_token as string);
        return header.kid === es256 ? header.kid : undefined;
      }, 15_000, 200);
      t.is(kid, es256, url);
    }
  });
}
