import { randomBytes } from 'node:crypto';
import test from 'ava';
import * as jose from 'jose';
import * as oidc from 'openid-client';
import type { DatabaseTarget } from '../../src/platform/config.ts';
import { rotateSigningKeys } from '../../src/oidc/signing-keys.ts';
import { testDatabase } from '../helpers/backend.ts';
import { relyingParty } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { closeOnce, eventually, listeningPort, publishedKids, scene, sceneOn, signedInTokens } from '../helpers/oidc.ts';

const discoveryPath = '/.well-known/openid-configuration';

test.serial('discovery is pre-serialised with an ETag and answers If-None-Match with 304', async (t) => {
  const hub = await startTestHub(t);
  const first = await fetch(`${hub.url}${discoveryPath}`);
  t.is(first.status, 200);
  const etag = first.headers.get('etag');
  t.truthy(etag);
  const body = await first.text();
  const second = await fetch(`${hub.url}${discoveryPath}`);
  t.is(second.headers.get('etag'), etag);
  t.is(await second.text(), body);
  const notModified = await fetch(`${hub.url}${discoveryPath}`, { headers: { 'if-none-match': etag! } });
  t.is(notModified.status, 304);
  t.is(await notModified.text(), '');
  const stale = await fetch(`${hub.url}${discoveryPath}`, { headers: { 'if-none-match': '"something-else"' } });
  t.is(stale.status, 200);

  const metadata = JSON.parse(body) as Record<string, unknown>;
  t.is(metadata.issuer, hub.url);
  for (const alg of ['RS256', 'ES256', 'EdDSA']) t.true((metadata.id_token_signing_alg_values_supported as string[]).includes(alg), alg);
  t.false((metadata.grant_types_supported as string[]).includes('implicit'));
  t.deepEqual(metadata.code_challenge_methods_supported, ['S256']);
  t.deepEqual(metadata.response_types_supported, ['code', 'none']);
  for (const endpoint of ['authorization_endpoint', 'token_endpoint', 'jwks_uri', 'userinfo_endpoint', 'introspection_endpoint', 'revocation_endpoint', 'end_session_endpoint', 'device_authorization_endpoint', 'pushed_authorization_request_endpoint']) {
    t.true(String(metadata[endpoint]).startsWith(hub.url), endpoint);
  }
  t.true((metadata.grant_types_supported as string[]).includes('urn:ietf:params:oauth:grant-type:device_code'));
  t.truthy(metadata.dpop_signing_alg_values_supported);
});

test.serial('JWKS is pre-serialised with an ETag, answers 304, and publishes public keys only', async (t) => {
  const hub = await startTestHub(t);
  const first = await fetch(`${hub.url}/jwks`);
  const etag = first.headers.get('etag')!;
  t.truthy(etag);
  const { keys } = (await first.json()) as { keys: Array<Record<string, string>> };
  t.deepEqual(new Set(keys.map((k) => k.alg)), new Set(['RS256', 'ES256', 'EdDSA']));
  for (const key of keys) {
    t.truthy(key.kid);
    for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi']) t.is(key[secret], undefined, `${key.kid} leaks ${secret}`);
  }
  const notModified = await fetch(`${hub.url}/jwks`, { headers: { 'if-none-match': etag } });
  t.is(notModified.status, 304);
});

test.serial('key rotation: new keys are published without a restart, sign once active, and old tokens still verify', async (t) => {
  const { hub, service, rp } = await scene(t, { hub: { env: { KEY_REFRESH_SECONDS: '1' } } });
  const before = await publishedKids(hub);
  const jwksEtag = (await fetch(`${hub.url}/jwks`)).headers.get('etag');
  const oldToken = (await oidc.clientCredentialsGrant(rp, { resource: service.resource })).access_token;
  const oldKid = jose.decodeProtectedHeader(oldToken).kid;
  t.true(before.includes(oldKid!));

  const added = await rotateSigningKeys(hub.db, hub.secrets.keys, { activationDelaySeconds: 2 });
  const newKids = added.map((k) => k.kid);
  const es256 = added.find((k) => k.alg === 'ES256')!.kid;

  const published = await eventually(async () => {
    const kids = await publishedKids(hub);
    return newKids.every((kid) => kids.includes(kid)) ? kids : undefined;
  }, 10_000);
  t.true(before.every((kid) => published.includes(kid)), 'the old keys stay published');
  t.not((await fetch(`${hub.url}/jwks`)).headers.get('etag'), jwksEtag, 'a new key set has a new ETag');

  const newToken = await eventually(async () => {
    const token = (await oidc.clientCredentialsGrant(rp, { resource: service.resource })).access_token;
    return jose.decodeProtectedHeader(token).kid === es256 ? token : undefined;
  }, 15_000, 200);

  // A verifier that fetches /jwks now accepts both.
  const jwks = jose.createRemoteJWKSet(new URL(`${hub.url}/jwks`));
  await t.notThrowsAsync(jose.jwtVerify(oldToken, jwks, { issuer: hub.url, audience: service.resource }));
  await t.notThrowsAsync(jose.jwtVerify(newToken, jwks, { issuer: hub.url, audience: service.resource }));
});

test.serial('key rotation: a pending key is published before it signs', async (t) => {
  const { hub, service, rp } = await scene(t, { hub: { env: { KEY_REFRESH_SECONDS: '1' } } });
  const added = await rotateSigningKeys(hub.db, hub.secrets.keys, { activationDelaySeconds: 30 });
  const es256 = added.find((k) => k.alg === 'ES256')!.kid;
  await eventually(async () => ((await publishedKids(hub)).includes(es256) ? true : undefined), 10_000);
  const token = (await oidc.clientCredentialsGrant(rp, { resource: service.resource })).access_token;
  t.not(jose.decodeProtectedHeader(token).kid, es256, 'not signing with a key that other instances may not publish yet');
});

/** A database that outlives one hub: every test database does (a PGlite directory, or a Postgres database). */
const durableDatabase = (t: Parameters<typeof testDatabase>[0]): Promise<DatabaseTarget> => testDatabase(t);

test.serial('restart: keys, users and refresh tokens survive a stop and a start on the same database', async (t) => {
  const database = await durableDatabase(t);
  const secret = randomBytes(32).toString('base64url');
  const first = closeOnce(await startTestHub(t, { database, secret }));
  const s = await sceneOn(first);
  const tokens = await signedInTokens(s);
  const kidsBefore = await publishedKids(first);
  const port = listeningPort(first);
  await first.close();

  // Same address, same issuer: what a restarted hub behind a fixed URL looks like.
  const second = await startTestHub(t, { database, secret, env: { PORT: String(port), ISSUER: first.url } });
  t.is(second.url, first.url);
  t.deepEqual(await publishedKids(second), kidsBefore);

  const rp = await relyingParty(second, s.client);
  const refreshed = await oidc.refreshTokenGrant(rp, tokens.refresh_token!);
  t.truthy(refreshed.access_token);
  t.is(refreshed.claims()!.sub, s.person.id);
  // The ID token from before verifies with the keys the restarted hub publishes.
  const jwks = jose.createRemoteJWKSet(new URL(`${second.url}/jwks`));
  await t.notThrowsAsync(jose.jwtVerify(tokens.id_token!, jwks, { issuer: second.url, audience: s.client.client_id }));

  // The person signs in again with the same password.
  const again = await signedInTokens({ hub: second, rp, person: s.person });
  t.is(again.claims()!.sub, s.person.id);
});
