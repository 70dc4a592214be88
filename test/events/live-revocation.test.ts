import { randomBytes } from 'node:crypto';
import test from 'ava';
import type { Knex } from 'knex';
import { Registry } from 'prom-client';
import { deleteUser, disableUser } from '../../src/identity/account-status.ts';
import type { LiveAccess, LiveTransport } from '../../src/events/live-connection.ts';
import { LiveHub } from '../../src/events/live-hub.ts';
import { MemoryBus } from '../../src/events/memory-bus.ts';
import { createEventMetrics } from '../../src/events/metrics.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { realBackends, testRedisPrefix, testRedisUrl } from '../helpers/backend.ts';
import { grant, makePerson, makeService } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { firstLink, startMailCatcher } from '../helpers/mail-catcher.ts';
import { csrfTokenOf, signedInAgent } from '../portal/portal-helpers.ts';
import { eventsSettled, eventually, personToken, SseClient, WsClient } from './helpers.ts';

async function setup(t: Parameters<typeof startTestHub>[0]) {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepygame');
  await makeService(hub, 'vezepyweb', { firstParty: true });
  const ada = await makePerson(hub, { name: 'Ada' });
  return { hub, ada };
}

const wsClosedWith = (ws: WsClient) => new Promise<number>((resolve) => (ws.closed ? resolve(-1) : ws.socket.once('close', (code) => resolve(code))));

test('a password change closes the streams opened with the other sessions\' tokens, keeps this browser\'s; disabling the account closes the rest', async (t) => {
  const { hub, ada } = await setup(t);
  // A device app's token, from a sign-in in another browser; and the portal in this browser.
  const token = await personToken(hub, ada, 'vezepyweb');
  const agent = await signedInAgent(hub, ada);
  await eventsSettled(hub);

  const byToken = await SseClient.open(`${hub.url}/hub/events`, { authorization: `Bearer ${token}` });
  const wsByToken = await WsClient.open(`${hub.url}/hub/events`, { authorization: `Bearer ${token}` });
  const wsCode = wsClosedWith(wsByToken);
  const byCookie = await SseClient.open(`${hub.url}/hub/events`, { cookie: agent.cookieHeader() });
  t.teardown(() => Promise.all([byToken.close(), wsByToken.close(), byCookie.close()]).then(() => undefined));
  for (const sse of [byToken, byCookie]) await sse.waitFor((m) => m.event === 'ready');
  await eventually(() => wsByToken.messages.find((m) => m.type === 'ready'), 10_000, 'ws ready');

  const changed = await agent.postForm(`${hub.url}/account/security/password`, {
    _csrf: await csrfTokenOf(agent, hub),
    currentPassword: ada.password,
    newPassword: 'a much longer new passphrase',
  });
  t.true(changed.status < 400, `password change answered ${changed.status}`);

  await eventually(() => byToken.closed, 10_000, 'the token\'s SSE stream to close');
  t.truthy(byToken.messages.find((m) => m.event === 'revoked'), 'told why before the end');
  t.is(await wsCode, 1008);
  t.true(wsByToken.messages.some((m) => m.type === 'revoked'));
  // The same token cannot open a new stream either: its grant is gone, though the JWT still verifies.
  const again = await SseClient.open(`${hub.url}/hub/events`, { authorization: `Bearer ${token}` });
  t.is(again.status, 401);

  // The browser that made the change stays signed in, and its stream goes on.
  await grant(hub, ada.email, 'vezepygame', 'pro');
  await byCookie.waitForEvent('entitlement.granted', (d) => d.tier === 'pro');
  t.false(byCookie.closed);

  await disableUser(hub.db, ada.id);
  await eventually(() => byCookie.closed, 10_000, 'the portal\'s stream to close');
  t.is(hub.events.live.connectionCount, 0);
});

test('deleting the account closes its streams; "sign out everywhere else" closes the other sessions\' ones', async (t) => {
  const { hub, ada } = await setup(t);
  const agent = await signedInAgent(hub, ada);
  const other = await signedInAgent(hub, ada);
  await eventsSettled(hub);
  const mine = await SseClient.open(`${hub.url}/hub/events`, { cookie: agent.cookieHeader() });
  const theirs = await SseClient.open(`${hub.url}/hub/events`, { cookie: other.cookieHeader() });
  t.teardown(() => Promise.all([mine.close(), theirs.close()]).then(() => undefined));
  await mine.waitFor((m) => m.event === 'ready');
  await theirs.waitFor((m) => m.event === 'ready');

  const signedOut = await agent.postForm(`${hub.url}/account/sessions/sign-out-others`, { _csrf: await csrfTokenOf(agent, hub) });
  t.true(signedOut.status < 400, `sign out everywhere else answered ${signedOut.status}`);
  await eventually(() => theirs.closed, 10_000, 'the other session\'s stream to close');
  await grant(hub, ada.email, 'vezepygame', 'pro');
  await mine.waitForEvent('entitlement.granted');
  t.false(mine.closed);
  const gone = await SseClient.open(`${hub.url}/hub/events`, { cookie: other.cookieHeader() });
  t.is(gone.status, 401);

  await deleteUser(hub.db, ada.id);
  await eventually(() => mine.closed, 10_000, 'the stream of a deleted account to close');
});

test('a password reset closes every stream of the account, by token and by portal session', async (t) => {
  const mail = await startMailCatcher(t);
  const hub = await startTestHub(t, { env: { SMTP_URL: mail.url } });
  await makeService(hub, 'vezepyweb', { firstParty: true });
  const ada = await makePerson(hub, { name: 'Ada' });
  const token = await personToken(hub, ada, 'vezepyweb');
  const agent = await signedInAgent(hub, ada);
  const byToken = await SseClient.open(`${hub.url}/hub/events`, { authorization: `Bearer ${token}` });
  const byCookie = await SseClient.open(`${hub.url}/hub/events`, { cookie: agent.cookieHeader() });
  t.teardown(() => Promise.all([byToken.close(), byCookie.close()]).then(() => undefined));
  await byToken.waitFor((m) => m.event === 'ready');
  await byCookie.waitFor((m) => m.event === 'ready');

  await fetch(`${hub.url}/reset`, { method: 'POST', body: new URLSearchParams({ email: ada.email }), redirect: 'manual' });
  const link = firstLink((await mail.waitFor(ada.email, /Reset your/)).text);
  const reset = await fetch(link, { method: 'POST', body: new URLSearchParams({ password: 'a brand new long passphrase' }), redirect: 'manual' });
  t.is(reset.status, 200);
  await eventually(() => byToken.closed && byCookie.closed, 10_000, 'both streams to close');
});

/** A transport that only records how it ended. */
function recordingTransport() {
  const ended: string[] = [];
  const transport: LiveTransport = {
    name: 'sse',
    send: () => undefined,
    buffered: () => 0,
    writable: () => Promise.resolve(),
    heartbeat: () => undefined,
    close: (reason) => void ended.push(reason),
  };
  return { transport, ended };
}

// Serial: ava runs these before the file's concurrent tests, whose hubs (PGlite in this thread) would hold up its timers.
test.serial('a stream ends when its token expires, and when its session expires unless the portal moved the expiry meanwhile', async (t) => {
  const bus = new MemoryBus(100);
  const live = new LiveHub({ bus, logger: createLogger('silent'), metrics: createEventMetrics(new Registry(), null as unknown as Knex) });
  await live.start();
  t.teardown(() => live.stop());

  // A bearer token: its exp is fixed; the row is still there, so only the clock ends it.
  const tokenExp = Date.now() + 300;
  const bearer = recordingTransport();
  live.connect({ userId: 'u1', all: false }, bearer.transport, null, { expiresAt: tokenExp, recheck: async () => tokenExp });

  // A session whose expiry the portal moves once (another tab used /account), then not.
  let sessionExp = Date.now() + 300;
  let reads = 0;
  const session = recordingTransport();
  const access: LiveAccess = {
    expiresAt: sessionExp,
    recheck: async () => {
      reads++;
      if (reads === 1) sessionExp = Date.now() + 2000;
      return sessionExp;
    },
  };
  live.connect({ userId: 'u1', all: false }, session.transport, null, access);
  t.is(live.connectionCount, 2);

  await eventually(() => bearer.ended.length, 10_000, 'the token\'s stream to end');
  t.deepEqual(bearer.ended, ['revoked']);
  t.true(Date.now() >= tokenExp);
  t.deepEqual(session.ended, [], 'the session was extended: still open');
  await eventually(() => session.ended.length, 10_000, 'the session\'s stream to end');
  t.deepEqual(session.ended, ['revoked']);
  t.true(Date.now() >= sessionExp);
  t.is(reads, 2);
  t.is(live.connectionCount, 0);
});

test.serial('an expiry timer that fires before the expiry by the clock waits for it, and reads the access once', async (t) => {
  const bus = new MemoryBus(100);
  const live = new LiveHub({ bus, logger: createLogger('silent'), metrics: createEventMetrics(new Registry(), null as unknown as Knex) });
  await live.start();
  t.teardown(() => live.stop());
  // Timers and Date.now() keep different clocks (a timer counts from its turn's cached time, in
  // whole milliseconds): here Date.now() runs 5 ms behind the timers once the stream is open.
  const realNow = Date.now;
  let behind = 0;
  Date.now = () => realNow() - behind;
  t.teardown(() => (Date.now = realNow));
  const expiresAt = Date.now() + 300;
  const reads: number[] = [];
  const stream = recordingTransport();
  live.connect({ userId: 'u1', all: false }, stream.transport, null, { expiresAt, recheck: async () => (reads.push(Date.now()), expiresAt) });
  behind = 5;
  await eventually(() => stream.ended.length, 10_000, 'the stream to end');
  t.deepEqual(stream.ended, ['revoked']);
  t.is(reads.length, 1, 'read once');
  t.true(reads[0]! >= expiresAt, 'not before the expiry');
});

// Two instances need a shared Postgres and Redis; the embedded defaults are one process only.
const shared = realBackends && testRedisUrl ? test : test.skip;

shared('two instances: disabling the account through one closes the streams the other serves', async (t) => {
  const secret = randomBytes(32).toString('base64url');
  const env = { REDIS_PREFIX: testRedisPrefix() };
  const a = await startTestHub(t, { secret, env });
  const b = await startTestHub(t, { secret, env, database: a.config.database });
  await makeService(a, 'vezepyweb', { firstParty: true });
  const ada = await makePerson(a);
  const onB = await SseClient.open(`${b.url}/hub/events`, { authorization: `Bearer ${await personToken(b, ada, 'vezepyweb')}` });
  const agent = await signedInAgent(b, ada);
  const cookieOnB = await SseClient.open(`${b.url}/hub/events`, { cookie: agent.cookieHeader() });
  t.teardown(() => Promise.all([onB.close(), cookieOnB.close()]).then(() => undefined));
  await onB.waitFor((m) => m.event === 'ready');
  await cookieOnB.waitFor((m) => m.event === 'ready');

  await disableUser(a.db, ada.id);
  await eventually(() => onB.closed && cookieOnB.closed, 15_000, 'both streams on the other instance to close');
  t.is(b.events.live.connectionCount, 0);
});
