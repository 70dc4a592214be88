import test from 'ava';
import type { Knex } from 'knex';
import { Registry } from 'prom-client';
import type { Frame, LiveTransport } from '../../src/events/live-connection.ts';
import { LiveHub } from '../../src/events/live-hub.ts';
import { MemoryBus } from '../../src/events/memory-bus.ts';
import { createEventMetrics } from '../../src/events/metrics.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { grant, makePerson, makeService } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { signedInAgent } from '../portal/portal-helpers.ts';
import { eventsSettled, eventually, personToken, SseClient, WsClient } from './helpers.ts';

test('live streams are capped per person and per address: 429 with Retry-After, and a closed one frees its place', async (t) => {
  const hub = await startTestHub(t, { env: { LIVE_MAX_PER_PERSON: '2', LIVE_MAX_PER_ADDRESS: '3' } });
  await makeService(hub, 'vezepyweb', { firstParty: true });
  const ada = await makePerson(hub, { name: 'Ada' });
  const bob = await makePerson(hub, { name: 'Bob' });
  const adaAuth = { authorization: `Bearer ${await personToken(hub, ada, 'vezepyweb')}` };
  const url = `${hub.url}/hub/events`;
  const open: Array<{ close(): Promise<void> }> = [];
  t.teardown(() => Promise.all(open.map((c) => c.close())).then(() => undefined));

  const first = await SseClient.open(url, adaAuth);
  open.push(first);
  const second = await WsClient.open(url, adaAuth);
  open.push(second);
  t.is(first.status, 200);
  const third = await SseClient.open(url, adaAuth);
  t.is(third.status, 429);
  t.regex(JSON.parse(third.errorBody).detail, /2 live streams/);
  const thirdByWs = await t.throwsAsync(WsClient.open(url, adaAuth));
  t.is((thirdByWs as Error & { status: number }).status, 429);
  // Retry-After on both transports.
  const raw = await fetch(url, { headers: { ...adaAuth, accept: 'text/event-stream' } });
  t.is(raw.status, 429);
  t.is(raw.headers.get('retry-after'), '30');
  await raw.body?.cancel();

  // One closes: its place is free again (the server sees the close a moment later).
  await second.close();
  const again = await eventually(async () => {
    const client = await SseClient.open(url, adaAuth);
    return client.status === 200 ? client : (await client.close(), null);
  }, 10_000, 'a place after a close');
  open.push(again);

  // Bob, from the same address: his first is the address's third; his second is over the address's cap.
  const bobAgent = await signedInAgent(hub, bob);
  const bobFirst = await SseClient.open(url, { cookie: bobAgent.cookieHeader() });
  open.push(bobFirst);
  t.is(bobFirst.status, 200);
  const bobSecond = await SseClient.open(url, { cookie: bobAgent.cookieHeader() });
  t.is(bobSecond.status, 429);
  t.regex(JSON.parse(bobSecond.errorBody).detail, /network/);
  t.is(hub.events.live.connectionCount, 3);
});

test('a reconnect is replayed at most LIVE_REPLAY_MAX_EVENTS missed events, the newest, after a resync marker; Last-Event-ID 0-0 too', async (t) => {
  const hub = await startTestHub(t, { env: { LIVE_REPLAY_MAX_EVENTS: '3' } });
  await makeService(hub, 'vezepygame');
  await makeService(hub, 'vezepyweb', { firstParty: true });
  const ada = await makePerson(hub, { name: 'Ada' });
  const auth = { authorization: `Bearer ${await personToken(hub, ada, 'vezepyweb')}` };
  await eventsSettled(hub);
  const url = `${hub.url}/hub/events`;
  const before = await SseClient.open(url, auth);
  const ready = await before.waitFor((m) => m.event === 'ready');
  await before.close();

  // Two missed: both replayed, no marker.
  for (const tier of ['a', 'b']) await grant(hub, ada.email, 'vezepygame', tier);
  await eventsSettled(hub);
  const few = await SseClient.open(url, { ...auth, 'last-event-id': ready.id! });
  t.teardown(() => few.close());
  await few.waitFor((m) => m.event === 'ready');
  t.deepEqual(few.messages.map((m) => m.event), ['entitlement.granted', 'entitlement.changed', 'ready']);
  const afterFew = few.lastEventId!;
  await few.close();

  // Five missed: a resync first, then the newest three.
  for (const tier of ['c', 'd', 'e', 'f', 'g']) await grant(hub, ada.email, 'vezepygame', tier);
  await eventsSettled(hub);
  const many = await SseClient.open(url, { ...auth, 'last-event-id': afterFew });
  t.teardown(() => many.close());
  await many.waitFor((m) => m.event === 'ready');
  t.is(many.messages[0]!.event, 'resync');
  t.deepEqual(many.events.map((e) => e.envelope.data.tier), ['e', 'f', 'g']);

  // The whole stream asked for: the same three, never everything.
  const all = await SseClient.open(url, { ...auth, 'last-event-id': '0-0' });
  t.teardown(() => all.close());
  await all.waitFor((m) => m.event === 'ready');
  t.is(all.messages[0]!.event, 'resync');
  t.deepEqual(all.events.map((e) => e.envelope.data.tier), ['e', 'f', 'g']);
  const ws = await WsClient.open(`${url}?since=0-0`, auth);
  t.teardown(() => ws.close());
  await eventually(() => ws.messages.find((m) => m.type === 'ready'), 10_000, 'ws ready');
  t.is(ws.messages[0]!.type, 'resync');
  t.deepEqual(ws.events.map((m) => (m.event!.data as { tier: string }).tier), ['e', 'f', 'g']);
});

/** A transport that keeps every frame. */
function framesTransport() {
  const frames: Frame[] = [];
  const transport: LiveTransport = {
    name: 'sse',
    send: (frame) => void frames.push(frame),
    buffered: () => 0,
    writable: () => Promise.resolve(),
    heartbeat: () => undefined,
    close: () => undefined,
  };
  return { transport, frames };
}

// Serial: ava runs these before the file's concurrent tests, whose hubs (PGlite in this thread) would hold up its clock.
test.serial('a reconnect is replayed only the last LIVE_REPLAY_MAX_MINUTES; a position before that gets a resync marker only when something was left out', async (t) => {
  const bus = new MemoryBus(1000);
  const live = new LiveHub({ bus, logger: createLogger('silent'), metrics: createEventMetrics(new Registry(), null as unknown as Knex), limits: { replayWindowMs: 1500 } });
  await live.start();
  t.teardown(() => live.stop());
  let n = 0;
  const publish = () => bus.publish([{ id: `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`, type: 'test.n', occurred_at: new Date().toISOString(), user_id: 'u1', data: { n } }]);
  const start = await bus.lastId();
  for (let i = 0; i < 3; i++) await publish();
  const [quietFrom] = await publish();
  await new Promise((resolve) => setTimeout(resolve, 2000));
  // Nothing in the stream between this old position and the window: nothing to say.
  const quiet = framesTransport();
  live.connect({ userId: 'u1', all: false }, quiet.transport, quietFrom!);
  await eventually(() => quiet.frames.find((f) => f.kind === 'ready'), 5000, 'ready');
  t.deepEqual(quiet.frames.map((f) => f.kind), ['ready']);

  for (let i = 0; i < 2; i++) await publish();
  const old = framesTransport();
  live.connect({ userId: 'u1', all: false }, old.transport, start);
  await eventually(() => old.frames.find((f) => f.kind === 'ready'), 5000, 'ready');
  t.deepEqual(old.frames.map((f) => (f.kind === 'event' ? (f.entry.event.data as { n: number }).n : f.kind)), ['resync', 5, 6, 'ready']);
});
