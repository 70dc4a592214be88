import { AsyncLocalStorage } from 'node:async_hooks';
import test from 'ava';
import { appendEvent } from '../../src/outbox/outbox.ts';
import { Relay } from '../../src/events/relay.ts';
import type { Hub } from '../../src/app/start.ts';
import { makePerson, makeService } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { realBackends } from '../helpers/backend.ts';
import { eventually, personToken, SseClient } from './helpers.ts';
import { createWebhook, setWebhookEnabled } from '../../src/events/webhooks.ts';
import { cliActor } from '../../src/audit/actors.ts';

const append = (hub: Hub, userId: string, n: number) =>
  hub.db.transaction((trx) => appendEvent(trx, { type: 'game.score.changed', userId, service: 'vezepygame', data: { n } }));

async function streamSince(hub: Hub, position: string) {
  const entries = [];
  for (let after = position; ; ) {
    const page = await hub.events.bus.read(after, 500);
    entries.push(...page.entries);
    if (page.entries.length < 500) return entries;
    after = page.entries.at(-1)!.streamId;
  }
}

const otherRelay = (hub: Hub, afterPublish = async () => undefined) =>
  new Relay({ db: hub.db, bus: hub.events.bus, logger: hub.logger, metrics: hub.events.metrics, afterPublish, batchSize: 7 });

test('a crash between publishing and marking sends the events again; live clients get each once', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepyweb', { firstParty: true });
  const person = await makePerson(hub);
  const sse = await SseClient.open(`${hub.url}/hub/events`, { authorization: `Bearer ${await personToken(hub, person, 'vezepyweb')}` });
  t.teardown(() => sse.close());
  await sse.waitFor((m) => m.event === 'ready');
  await eventually(async () => (await hub.db('outbox').whereNull('published_at').count('* as n').first())?.n === 0, 10_000, 'relay idle');
  const position = await hub.events.bus.lastId();

  await hub.events.relay.stop();
  for (let n = 0; n < 5; n++) await append(hub, person.id, n);
  const crashing = otherRelay(hub, async () => {
    throw new Error('the process died here');
  });
  await t.throwsAsync(crashing.runOnce(), { message: 'the process died here' });
  t.is((await streamSince(hub, position)).length, 5, 'published');
  t.is((await hub.db('outbox').whereNull('published_at').count('* as n').first())?.n, 5, 'but not marked');

  hub.events.relay.start();
  await eventually(async () => (await hub.db('outbox').whereNull('published_at').count('* as n').first())?.n === 0, 10_000, 'marked after the retry');
  const stream = await streamSince(hub, position);
  t.is(stream.length, 10, 'sent twice to the stream');
  t.is(new Set(stream.map((e) => e.event.id)).size, 5, 'with the same event ids');
  // The sign-ins that got the tokens write session.created too: only the scores are counted.
  const scores = (client: SseClient) => client.events.filter((e) => e.type === 'game.score.changed').map((e) => e.envelope.data.n);
  await eventually(() => scores(sse).length >= 5, 10_000, 'five live events');
  t.deepEqual(scores(sse), [0, 1, 2, 3, 4], 'each once, in order');

  // A client resuming from before the crash gets each event once too.
  const resumed = await SseClient.open(`${hub.url}/hub/events`, { authorization: `Bearer ${await personToken(hub, person, 'vezepyweb')}`, 'last-event-id': position });
  t.teardown(() => resumed.close());
  await resumed.waitFor((m) => m.event === 'ready');
  t.deepEqual(scores(resumed), [0, 1, 2, 3, 4]);
});

test('several relays at once publish every event exactly once, each person\'s in order', async (t) => {
  const hub = await startTestHub(t);
  const people = await Promise.all([0, 1, 2, 3].map(() => makePerson(hub)));
  await eventually(async () => (await hub.db('outbox').whereNull('published_at').count('* as n').first())?.n === 0, 10_000, 'relay idle');
  const position = await hub.events.bus.lastId();
  const relays = [hub.events.relay, otherRelay(hub), otherRelay(hub), otherRelay(hub)];
  for (const relay of relays.slice(1)) relay.start();
  t.teardown(() => Promise.all(relays.slice(1).map((r) => r.stop())));

  // Writers and relays race: 4 people × 60 events, written concurrently.
  await Promise.all(people.map(async (person) => {
    for (let n = 0; n < 60; n++) await append(hub, person.id, n);
  }));
  await eventually(async () => (await hub.db('outbox').whereNull('published_at').count('* as n').first())?.n === 0, 20_000, 'all relayed');
  const stream = (await streamSince(hub, position)).filter((e) => e.event.type === 'game.score.changed');
  t.is(stream.length, 240);
  t.is(new Set(stream.map((e) => e.event.id)).size, 240, 'none twice');
  for (const person of people) {
    t.deepEqual(stream.filter((e) => e.event.user_id === person.id).map((e) => e.event.data.n), Array.from({ length: 60 }, (_, n) => n));
  }
});

test('a round of the relay is one claim between BEGIN and COMMIT (for a person with no device to push to); the webhook list is read again only after a webhook changed', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepygame');
  const person = await makePerson(hub);
  await eventually(async () => (await hub.db('outbox').whereNull('published_at').count('* as n').first())?.n === 0, 10_000, 'relay idle');
  await hub.events.relay.stop();
  await hub.events.webhooks.stop();
  // The round's own statements, not the background polls of the workers still running.
  const inRound = new AsyncLocalStorage<string[]>();
  const record = (query: { sql: string }) => void inRound.getStore()?.push(query.sql);
  hub.db.on('query', record);
  t.teardown(() => void hub.db.off('query', record));
  const round = async (n: number) => {
    await append(hub, person.id, n);
    const statements: string[] = [];
    const published = await inRound.run(statements, () => hub.events.relay.runOnce(true));
    const [event] = await hub.db('outbox').where({ user_id: person.id }).orderBy('seq', 'desc').limit(1).pluck('id');
    const deliveries = Number((await hub.db('webhook_deliveries').where({ event_id: event }).count('* as n').first())?.n);
    return { published, statements, readsWebhooks: statements.filter((sql) => sql.includes('"webhooks"')).length, deliveries };
  };
  await round(0);

  const steady = await round(1);
  t.is(steady.published, 1);
  t.is(steady.readsWebhooks, 0, 'the list as the last round read it');
  // The person has no device to push to: the claim says so, and no task is made.
  t.deepEqual(steady.statements.map((sql) => (sql.startsWith('with batch as') ? 'the claim' : sql)), ['BEGIN;', 'the claim', 'COMMIT;']);

  const hook = await createWebhook(hub.db, hub.events.webhookBox, { service: 'vezepygame', url: 'http://127.0.0.1:9/hook', events: ['game.*'] });
  const afterCreate = await round(2);
  t.is(afterCreate.readsWebhooks, 1, 'read again after the webhook was made');
  t.is(afterCreate.deliveries, 1, 'and the event is delivered to it');
  const next = await round(3);
  t.is(next.readsWebhooks, 0);
  t.is(next.deliveries, 1);

  await setWebhookEnabled(hub.db, hook.id, false, cliActor());
  const afterDisable = await round(4);
  t.is(afterDisable.readsWebhooks, 1, 'read again after it was switched off');
  t.is(afterDisable.deliveries, 0);

  await setWebhookEnabled(hub.db, hook.id, true, cliActor());
  await hub.db('services').where({ slug: 'vezepygame' }).update({ status: 'suspended' });
  const afterService = await round(5);
  t.is(afterService.readsWebhooks, 1, 'and after its service changed');
  t.is(afterService.deliveries, 0, 'a suspended service hears nothing');
});

test('in one batch of several people\'s events, the push subscriber gets a task only for those with a switched-on subscription', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepygame');
  const [reachable, none, switchedOff] = await Promise.all([makePerson(hub), makePerson(hub), makePerson(hub)]);
  await eventually(async () => (await hub.db('outbox').whereNull('published_at').count('* as n').first())?.n === 0, 10_000, 'relay idle');
  await hub.events.relay.stop();
  await hub.events.tasks.stop();
  const subscribe = (userId: string, n: number, enabled: boolean) =>
    hub.db('push_subscriptions').insert({ user_id: userId, kind: 'webpush', endpoint: `https://push.example/${n}`, p256dh: 'key', auth: 'auth', label: 'A browser', enabled });
  await subscribe(reachable.id, 1, true);
  await subscribe(switchedOff.id, 2, false);
  for (const person of [reachable, none, switchedOff, reachable]) await append(hub, person.id, 1);

  t.is(await hub.events.relay.runOnce(true), 4, 'one batch');
  const tasks = await hub.db('event_tasks').where({ consumer: 'push' }).select('event');
  t.deepEqual(tasks.map((task) => (task.event as { user_id: string }).user_id), [reachable.id, reachable.id]);
});

test('relay lag is a metric: it grows while events wait and falls to 0 once they are published', async (t) => {
  const hub = await startTestHub(t);
  const person = await makePerson(hub);
  await hub.events.relay.stop();
  await append(hub, person.id, 1);
  await hub.db('outbox').whereNull('published_at').update({ created_at: hub.db.raw(`now() - interval '42 seconds'`) });
  const lag = async () => Number(/^uniqverse_event_relay_lag_seconds (\S+)$/m.exec(await (await fetch(`${hub.url}/metrics`)).text())![1]);
  t.true((await lag()) >= 42);
  hub.events.relay.start();
  await eventually(async () => (await lag()) === 0, 10_000, 'lag 0');
  t.regex(await (await fetch(`${hub.url}/metrics`)).text(), /^uniqverse_event_relay_backlog 0$/m);
});

// Two transactions at once need two connections: PostgreSQL (embedded PGlite has one).
const concurrent = realBackends ? test : test.skip;

concurrent('while another relay holds a person\'s earlier event, their later ones are given back unpublished; other people\'s go', async (t) => {
  const hub = await startTestHub(t);
  const [held, free] = await Promise.all([makePerson(hub), makePerson(hub)]);
  await eventually(async () => (await hub.db('outbox').whereNull('published_at').count('* as n').first())?.n === 0, 10_000, 'relay idle');
  await hub.events.relay.stop();
  const position = await hub.events.bus.lastId();
  for (let n = 0; n < 3; n++) await append(hub, held.id, n);
  for (let n = 0; n < 3; n++) await append(hub, free.id, n);
  // "Another relay": a transaction that holds the first of held's events.
  const other = await hub.db.transaction();
  t.teardown(() => other.rollback().catch(() => undefined));
  const [first] = await other('outbox').where({ user_id: held.id }).whereNull('published_at').orderBy('seq').limit(1).forUpdate().select('seq');

  t.is(await otherRelay(hub).runOnce(), 3, 'only free\'s three');
  const stream = (await streamSince(hub, position)).filter((e) => e.event.type === 'game.score.changed');
  t.deepEqual(stream.map((e) => [e.event.user_id, e.event.data.n]), [[free.id, 0], [free.id, 1], [free.id, 2]]);
  const waiting = await hub.db('outbox').where({ user_id: held.id }).whereNull('published_at').orderBy('seq').pluck('seq');
  t.is(waiting.length, 3, 'held\'s later two given back, its first still held');
  t.is(Number(waiting[0]), Number(first.seq));

  await other.rollback();
  t.is(await otherRelay(hub).runOnce(), 3, 'then held\'s, in order');
  const after = (await streamSince(hub, position)).filter((e) => e.event.user_id === held.id && e.event.type === 'game.score.changed');
  t.deepEqual(after.map((e) => e.event.data.n), [0, 1, 2]);
});
