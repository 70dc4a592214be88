import test from 'ava';
import { zeroStreamId } from '../../src/events/stream-ids.ts';
import { realBackends } from '../helpers/backend.ts';
import { cliActor } from '../../src/audit/actors.ts';
import { setServiceRateLimits } from '../../src/catalog/service-rate-limits.ts';
import { api, serviceToken } from '../events/helpers.ts';
import { grant, makePerson, makeService } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { eventually, sceneOn, signedInTokens, verifyAccessToken } from '../helpers/oidc.ts';
import { UserAgent } from '../helpers/user-agent.ts';
import { introspect, notOnce, signIn, Ledger } from './load.ts';
import { ownRedis } from './own-servers.ts';
import * as oidc from 'openid-client';
import { callbackUrl } from '../helpers/fixtures.ts';

/**
 * Posts a password to a fresh login form; the answer's status, Retry-After, body and time. With
 * Redis out of reach the sign-in stops before the form (its interaction is kept in Redis): that
 * first answer is the one returned, timed from the authorization request.
 */
async function tryPassword(url: string, rp: oidc.Configuration, email: string, password: string) {
  const agent = new UserAgent();
  const authorization = oidc.buildAuthorizationUrl(rp, {
    redirect_uri: callbackUrl,
    scope: 'openid',
    code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
  });
  const begun = Date.now();
  const { response } = await agent.follow(authorization.href, url, { signal: AbortSignal.timeout(10_000) });
  const page = await response.text();
  if (response.status === 503) return { status: response.status, retryAfter: response.headers.get('retry-after'), body: page, ms: Date.now() - begun };
  const uid = /\/interaction\/([\w-]+)\/login/.exec(page)?.[1];
  if (!uid) throw new Error(`no login form: ${response.status} ${page.slice(0, 200)}`);
  const started = Date.now();
  const posted = await agent.request(`${url}/interaction/${uid}/login`, {
    method: 'POST',
    body: new URLSearchParams({ email, password }),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    signal: AbortSignal.timeout(10_000),
  });
  return { status: posted.status, retryAfter: posted.headers.get('retry-after'), body: await posted.text(), ms: Date.now() - started };
}

test('Redis stopped and started: credential checks fail closed with 503, tokens keep validating, events written meanwhile are published once when it is back', async (t) => {
  if (!realBackends) {
    t.log('skipped on the embedded back end: it has no Redis (rate limits and events are in-process)');
    t.pass();
    return;
  }
  t.timeout(60_000);
  const redis = await ownRedis(t);
  const hub = await startTestHub(t, { env: { REDIS_URL: redis.url } });
  const s = await sceneOn(hub);
  const jwt = await signedInTokens(s, { resource: s.service.resource });
  const opaque = await signedInTokens(s);
  const party = { url: hub.url, client: s.client, person: s.person };

  await redis.stop();
  const outboxBefore = new Set((await hub.db('outbox').select('id')).map((r: { id: string }) => r.id));

  // Guessing while the counters are out of reach: every guess is refused, none is judged.
  for (let i = 0; i < 12; i++) {
    const guess = await tryPassword(hub.url, s.rp, s.person.email, `wrong guess ${i}`);
    t.is(guess.status, 503, `guess ${i}: ${guess.body.slice(0, 120)}`);
    t.truthy(guess.retryAfter);
    t.regex(guess.body, /try again shortly/i);
    t.true(guess.ms < 5_000, `answered in ${guess.ms} ms`);
  }
  const right = await tryPassword(hub.url, s.rp, s.person.email, s.person.password);
  t.is(right.status, 503, 'the right password is not judged either: the hub cannot count');

  // Tokens already given keep working: a JWT offline against /jwks, the opaque one at userinfo and introspection.
  const verified = await verifyAccessToken(hub, jwt.access_token, s.service.resource);
  t.is(verified.payload.sub, s.person.id);
  const me = await fetch(`${hub.url}/me`, { headers: { authorization: `Bearer ${opaque.access_token}` }, signal: AbortSignal.timeout(10_000) });
  t.is(me.status, 200);
  t.true((await introspect(party, opaque.access_token)).active);
  t.true((await introspect(party, jwt.refresh_token!)).active);

  // Changes made meanwhile are kept in the outbox.
  const joined = await Promise.all([1, 2, 3].map(() => makePerson(hub)));
  const written = (await hub.db('outbox').select('id')).map((r: { id: string }) => r.id).filter((id: string) => !outboxBefore.has(id));
  t.true(written.length >= joined.length);

  await redis.start();
  const upAt = Date.now();
  const ledger = new Ledger();
  await eventually(async () => ((await signIn({ ...party, person: joined[0]! }, ledger, s.rp)) ? true : undefined), 15_000, 250);
  t.log(`signed in again ${Date.now() - upAt} ms after Redis came back; refused meanwhile: ${ledger.failures.map((f) => f.status).join(' ')}`);
  t.true(ledger.failures.every((f) => f.status === 503 && f.retryAfter !== null), JSON.stringify(ledger.failures.map((f) => [f.step, f.status])));

  await eventually(async () => ((await hub.db('outbox').whereIn('id', written).whereNull('published_at').first('id')) ? undefined : true), 15_000);
  const stream = await hub.events.bus.read(zeroStreamId, 100_000);
  t.deepEqual(notOnce(written, stream.entries.map((e) => e.event.id)), [], 'each event written while Redis was down is in the stream once');
});

test('Redis hung (server stopped with its connections open): a sign-in answers 503 "try again shortly" within seconds instead of waiting, tokens keep validating, events flow again once it resumes', async (t) => {
  if (!realBackends) {
    t.log('skipped on the embedded back end: it has no Redis (rate limits and events are in-process)');
    t.pass();
    return;
  }
  t.timeout(60_000);
  const redis = await ownRedis(t);
  const hub = await startTestHub(t, { env: { REDIS_URL: redis.url } });
  // Teardowns run last-registered first: Redis resumes before the hub is closed, even on failure.
  t.teardown(() => redis.thaw());
  const s = await sceneOn(hub);
  const opaque = await signedInTokens(s);
  const party = { url: hub.url, client: s.client, person: s.person };

  redis.freeze();
  const outboxBefore = new Set((await hub.db('outbox').select('id')).map((r: { id: string }) => r.id));
  const tries = await Promise.all([0, 1, 2].map((i) => tryPassword(hub.url, s.rp, s.person.email, i === 2 ? s.person.password : `wrong guess ${i}`).catch((error: unknown) => ({ status: 0, retryAfter: null, body: String(error), ms: 10_000 }))));
  for (const attempt of tries) {
    t.is(attempt.status, 503, attempt.body.slice(0, 160));
    t.truthy(attempt.retryAfter);
    t.regex(attempt.body, /try again shortly/i);
    t.true(attempt.ms < 5_000, `answered in ${attempt.ms} ms`);
  }
  const me = await fetch(`${hub.url}/me`, { headers: { authorization: `Bearer ${opaque.access_token}` }, signal: AbortSignal.timeout(10_000) });
  t.is(me.status, 200);
  t.true((await introspect(party, opaque.access_token)).active);
  const joined = await makePerson(hub);

  redis.thaw();
  const ledger = new Ledger();
  await eventually(async () => ((await signIn({ ...party, person: joined }, ledger, s.rp)) ? true : undefined), 15_000, 250);
  const written = (await hub.db('outbox').select('id')).map((r: { id: string }) => r.id).filter((id: string) => !outboxBefore.has(id));
  await eventually(async () => ((await hub.db('outbox').whereIn('id', written).whereNull('published_at').first('id')) ? undefined : true), 15_000);
  const stream = await hub.events.bus.read(zeroStreamId, 100_000);
  const ids = new Set(stream.entries.map((e) => e.event.id));
  t.deepEqual(written.filter((id) => !ids.has(id)), [], 'every event written meanwhile is in the stream');
});

test('Redis stopped: each service is still held to its API limit (counted in the instance\'s memory meanwhile), not let through unlimited', async (t) => {
  if (!realBackends) {
    t.log('skipped on the embedded back end: its limits are in memory already');
    t.pass();
    return;
  }
  t.timeout(60_000);
  const redis = await ownRedis(t);
  const hub = await startTestHub(t, { env: { REDIS_URL: redis.url } });
  await makeService(hub, 'vezepyemail');
  await setServiceRateLimits(hub.db, 'vezepyemail', { events: '3' }, cliActor());
  const person = await makePerson(hub);
  await grant(hub, person.email, 'vezepyemail', 'basic');
  const token = await serviceToken(hub, 'vezepyemail');

  await redis.stop();
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) {
    const response = await api(hub, '/api/v1/events', token, { method: 'POST', body: JSON.stringify({ type: 'email.sent', user: person.id, data: { n: i } }) });
    statuses.push(response.status);
    if (response.status === 429) t.regex(response.headers.get('retry-after') ?? '', /^\d+$/);
  }
  t.deepEqual(statuses, [202, 202, 202, 429, 429]);
});
