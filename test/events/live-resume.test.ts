import test from 'ava';
import { grant, makePerson, makeService } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { eventsSettled, eventually, personToken, SseClient, WsClient } from './helpers.ts';

async function setup(t: Parameters<typeof startTestHub>[0]) {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepygame');
  await makeService(hub, 'vezepyweb', { firstParty: true });
  const ada = await makePerson(hub, { name: 'Ada' });
  const bob = await makePerson(hub, { name: 'Bob' });
  const token = await personToken(hub, ada, 'vezepyweb');
  // The sign-in wrote session.created: read before the tests open a stream, so never live in it.
  await eventsSettled(hub);
  return { hub, ada, bob, token };
}

/** Tier changes of a person at vezepygame: each is one entitlement.* event. */
const tiers = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `t${from + i}`);

test('SSE: reconnecting with Last-Event-ID replays exactly what was missed, in order, then goes on live', async (t) => {
  const { hub, ada, bob, token } = await setup(t);
  const auth = { authorization: `Bearer ${token}` };
  const first = await SseClient.open(`${hub.url}/hub/events`, auth);
  t.is(first.status, 200);
  const ready = await first.waitFor((m) => m.event === 'ready');
  t.truthy(ready.id);

  for (const tier of tiers(3)) await grant(hub, ada.email, 'vezepygame', tier);
  await eventually(() => first.events.length === 3, 10_000, 'three live events');
  const resumeFrom = first.lastEventId!;
  await first.close();

  // Missed while away: Ada's changes, and Bob's (which Ada must never see).
  for (const tier of tiers(4, 3)) {
    await grant(hub, ada.email, 'vezepygame', tier);
    await grant(hub, bob.email, 'vezepygame', tier);
  }
  await eventsSettled(hub);
  const second = await SseClient.open(`${hub.url}/hub/events`, { ...auth, 'last-event-id': resumeFrom });
  t.teardown(() => second.close());
  await second.waitFor((m) => m.event === 'ready');
  t.deepEqual(second.events.map((e) => e.envelope.data.tier), tiers(4, 3));
  t.true(second.events.every((e) => e.envelope.user_id === ada.id));

  await grant(hub, ada.email, 'vezepygame', 'live');
  await second.waitForEvent('entitlement.changed', (d) => d.tier === 'live');
  const ids = [...first.events, ...second.events].map((e) => e.envelope.id);
  t.is(new Set(ids).size, ids.length, 'nothing twice');
  t.is(ids.length, 8);

  // The same through ?since= (for clients that cannot set headers).
  const third = await SseClient.open(`${hub.url}/hub/events?since=${encodeURIComponent(resumeFrom)}`, auth);
  t.teardown(() => third.close());
  await third.waitFor((m) => m.event === 'ready');
  t.deepEqual(third.events.map((e) => e.envelope.data.tier), [...tiers(4, 3), 'live']);
});

test('WebSocket: ?since= replays what was missed; events carry their stream id', async (t) => {
  const { hub, ada, token } = await setup(t);
  const auth = { authorization: `Bearer ${token}` };
  const ws = await WsClient.open(`${hub.url}/hub/events`, auth);
  await eventually(() => ws.messages.find((m) => m.type === 'ready'), 10_000, 'ready');
  await grant(hub, ada.email, 'vezepygame', 'a');
  await eventually(() => ws.events.length === 1, 10_000, 'live event');
  t.regex(ws.events[0]!.stream_id!, /^\d+-\d+$/);
  t.is(ws.events[0]!.event!.type, 'entitlement.granted');
  const since = ws.lastStreamId!;
  await ws.close();

  for (const tier of tiers(5)) await grant(hub, ada.email, 'vezepygame', tier);
  // Missed means in the stream by now: wait for the relay, or the last may come live after 'ready'.
  await eventsSettled(hub);
  const again = await WsClient.open(`${hub.url}/hub/events?since=${since}`, auth);
  t.teardown(() => again.close());
  await eventually(() => again.messages.find((m) => m.type === 'ready'), 10_000, 'ready after replay');
  t.deepEqual(again.events.map((m) => (m.event!.data as { tier: string }).tier), tiers(5));
  await grant(hub, ada.email, 'vezepygame', 'live');
  await eventually(() => again.events.length === 6, 10_000, 'live after replay');
});

test('who may listen: no token 401, a bad token 401, a bad position 400, all=true only for admins', async (t) => {
  const { hub, token } = await setup(t);
  const none = await SseClient.open(`${hub.url}/hub/events`);
  t.is(none.status, 401);
  t.is(JSON.parse(none.errorBody).title, 'unauthorized');
  const forged = await SseClient.open(`${hub.url}/hub/events`, { authorization: `Bearer ${token.slice(0, -4)}AAAA` });
  t.is(forged.status, 401);
  const badSince = await SseClient.open(`${hub.url}/hub/events?since=yesterday`, { authorization: `Bearer ${token}` });
  t.is(badSince.status, 400);
  const notAdmin = await SseClient.open(`${hub.url}/hub/events?all=true`, { authorization: `Bearer ${token}` });
  t.is(notAdmin.status, 403);
  const wsRefused = await t.throwsAsync(WsClient.open(`${hub.url}/hub/events`));
  t.is((wsRefused as Error & { status: number }).status, 401);

  // Every person's events are for the admin console's session only (test/events/live-admin.test.ts).
  const admin = await makePerson(hub, { admin: true, name: 'Root' });
  const adminToken = await personToken(hub, admin, 'vezepyweb');
  const adminByToken = await SseClient.open(`${hub.url}/hub/events?all=true`, { authorization: `Bearer ${adminToken}` });
  t.is(adminByToken.status, 403);
});

test('SSE: a Last-Event-ID past the end of the stream (one restored or reset since) gets a resync, then what comes next', async (t) => {
  const { hub, ada, token } = await setup(t);
  const ahead = `${Date.now() + 86_400_000}-0`;
  const stream = await SseClient.open(`${hub.url}/hub/events`, { authorization: `Bearer ${token}`, 'last-event-id': ahead });
  t.teardown(() => stream.close());
  t.is(stream.status, 200);
  const ready = await stream.waitFor((m) => m.event === 'ready');
  t.is(stream.messages[0]!.event, 'resync');
  t.not(ready.id, ahead, 'the position given back is the stream\'s, not the one from the future');
  await grant(hub, ada.email, 'vezepygame', 'after');
  await stream.waitForEvent('entitlement.granted', (d) => d.tier === 'after');
});
