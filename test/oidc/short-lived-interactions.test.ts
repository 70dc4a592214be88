import { randomBytes } from 'node:crypto';
import test from 'ava';
import { Redis } from 'ioredis';
import * as oidc from 'openid-client';
import { MemoryShortLivedStore } from '../../src/platform/short-lived-store.ts';
import { realBackends, testDatabase, testRedisPrefix, testRedisUrl } from '../helpers/backend.ts';
import { callbackUrl } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { authorize, listeningUrl, sceneOn } from '../helpers/oidc.ts';
import { redisHop } from '../helpers/redis-hop.ts';
import { UserAgent } from '../helpers/user-agent.ts';

/** The authorization request a relying party sends, up to the sign-in page: its interaction id. */
async function startSignIn(s: Awaited<ReturnType<typeof sceneOn>>, agent: UserAgent) {
  const verifier = oidc.randomPKCECodeVerifier();
  const url = oidc.buildAuthorizationUrl(s.rp, {
    redirect_uri: callbackUrl,
    scope: 'openid email',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state: oidc.randomState(),
  });
  const { response, url: page } = await agent.follow(url.href, s.hub.url);
  const uid = /\/interaction\/([\w-]+)$/.exec(page)?.[1];
  if (!uid) throw new Error(`no sign-in page: ${page} ${response.status}`);
  await response.text();
  return uid;
}

test('a whole sign-in keeps its interaction out of the database: no statement on oidc_models names one', async (t) => {
  const s = await sceneOn(await startTestHub(t));
  const statements: string[] = [];
  const record = (query: { sql?: string; bindings?: unknown[] }) => {
    if (/oidc_models/.test(query.sql ?? '')) statements.push(`${query.sql} ${JSON.stringify(query.bindings ?? [])}`);
  };
  s.hub.db.on('query', record);
  const { callback } = await authorize(s);
  s.hub.db.off('query', record);
  t.truthy(callback.searchParams.get('code'));
  t.true(statements.length > 0, 'the session, grant and code still go to the database');
  t.deepEqual(statements.filter((sql) => sql.includes('Interaction')), []);
});

test('the in-memory store forgets an entry when its time is up, and past its bound the least recently written first', async (t) => {
  const store = new MemoryShortLivedStore({ maxEntries: 3 });
  await store.set('brief', 'x', 1);
  t.is(await store.get('brief'), 'x');
  await new Promise((resolve) => setTimeout(resolve, 1100));
  t.is(await store.get('brief'), undefined);

  for (const key of ['a', 'b', 'c']) await store.set(key, key, 60);
  // Rewriting a makes b the oldest.
  await store.set('a', 'a2', 60);
  await store.set('d', 'd', 60);
  t.is(store.size, 3);
  t.is(await store.get('b'), undefined);
  t.deepEqual([await store.get('a'), await store.get('c'), await store.get('d')], ['a2', 'c', 'd']);
  await store.delete('a');
  t.is(await store.get('a'), undefined);
});

test('a parameter Postgres could not store is still refused at /auth with a 400', async (t) => {
  const s = await sceneOn(await startTestHub(t));
  const url = oidc.buildAuthorizationUrl(s.rp, {
    redirect_uri: callbackUrl,
    scope: 'openid',
    code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
    state: 'a\u0000b',
  });
  const agent = new UserAgent();
  const { response, url: landed } = await agent.follow(url.href, s.hub.url);
  const answer = landed.startsWith(callbackUrl) ? new URL(landed).searchParams.get('error') : String(response.status);
  t.true(answer === 'invalid_request' || answer === '400', `got ${answer} at ${landed}`);
});

const redisUrl = testRedisUrl;
if (realBackends && redisUrl) {
  test.serial('an interaction begun at instance A goes on at instance B (they share Redis), and lives there no longer than its TTL', async (t) => {
    const database = await testDatabase(t);
    const secret = randomBytes(32).toString('base64url');
    const prefix = testRedisPrefix();
    const a = await startTestHub(t, { database, secret, env: { REDIS_PREFIX: prefix } });
    const b = await startTestHub(t, { database, secret, env: { REDIS_PREFIX: prefix, ISSUER: a.url } });
    // First party: no consent page after the password.
    const s = await sceneOn(a, { firstParty: true });
    const agent = new UserAgent();
    const uid = await startSignIn(s, agent);

    const redis = new Redis(redisUrl);
    t.teardown(() => redis.disconnect());
    const ttl = await redis.ttl(`${prefix}short:Interaction:${uid}`);
    t.true(ttl > 0 && ttl <= 3600, `ttl ${ttl}`);

    // Cookies do not care about the port: the browser's interaction cookie goes to B as well.
    const posted = await agent.postForm(`${listeningUrl(b)}/interaction/${uid}/login`, { email: s.person.email, password: s.person.password });
    t.is(posted.status, 303, await posted.text());
    const { url } = await agent.follow(new URL(posted.headers.get('location')!, a.url).toString(), a.url);
    t.true(url.startsWith(callbackUrl), url);
    t.truthy(new URL(url).searchParams.get('code'));
  });

  test.serial('with Redis out of reach the sign-in page answers 503 with Retry-After, not an error of ours', async (t) => {
    const hop = await redisHop(redisUrl);
    const hub = await startTestHub(t, { env: { REDIS_URL: hop.url } });
    const s = await sceneOn(hub);
    const agent = new UserAgent();
    const uid = await startSignIn(s, agent);
    await hop.cut();
    const page = await agent.request(`${hub.url}/interaction/${uid}`);
    t.is(page.status, 503, await page.text());
    t.is(page.headers.get('retry-after'), '5');
    const posted = await agent.postForm(`${hub.url}/interaction/${uid}/login`, { email: s.person.email, password: s.person.password });
    t.is(posted.status, 503);
  });
}
