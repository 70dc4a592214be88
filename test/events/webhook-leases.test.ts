import test from 'ava';
import { webhookQueries } from '../../src/queries/webhooks.ts';
import { createWebhook, deliveryAttempts, listDeliveries } from '../../src/events/webhooks.ts';
import { grant, makePerson, makeService } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { eventually, webhookReceiver } from './helpers.ts';

/** Holds this process's event loop, as a long synchronous step or an overloaded machine does. */
function stallEventLoop(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // busy: no timer, socket or promise of this process runs meanwhile
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Serial: the stalls hold the whole process, and each test counts on its own timing.
test.serial('a slow receiver and a stalled event loop, each within the timeout, get every event exactly once', async (t) => {
  const hub = await startTestHub(t, { env: { WEBHOOK_TIMEOUT_SECONDS: '1' } });
  await makeService(hub, 'vezepygame');
  // The receiver takes 0.6 s to answer; 0.3 s in, the process stalls for 0.9 s. Each is under the
  // 1 s timeout, but the answer is written only when the stall ends, after the deadline has passed.
  const receiver = await webhookReceiver(async () => {
    setTimeout(() => stallEventLoop(900), 300);
    await sleep(600);
    return 204;
  });
  t.teardown(() => receiver.close());
  const hook = await createWebhook(hub.db, hub.events.webhookBox, { service: 'vezepygame', url: receiver.url });
  const person = await makePerson(hub);
  for (const tier of ['bronze', 'silver', 'gold']) await grant(hub, person.email, 'vezepygame', tier);

  // user.signup may be queued too (whether the game hears of it races with the grant): all count.
  const deliveries = await eventually(async () => {
    const { items } = await listDeliveries(hub.db, { webhook: hook.id });
    const done = items.filter((d) => d.event_type.startsWith('entitlement.') && d.status === 'delivered').length === 3 && items.every((d) => d.status !== 'pending');
    return done ? items : null;
  }, 30_000, 'every delivery').catch(async (error: unknown) => {
    for (const d of (await listDeliveries(hub.db, { webhook: hook.id })).items) t.log(d.event_type, JSON.stringify(await deliveryAttempts(hub.db, d.id)));
    throw error;
  });
  for (const delivery of deliveries) {
    t.like(delivery, { status: 'delivered', attempts: 1, last_status: 204 }, `${delivery.event_type} went out once`);
    t.deepEqual((await deliveryAttempts(hub.db, delivery.id)).map((a) => [a.status_code, a.error]), [[204, null]]);
  }
  t.is(receiver.received.length, deliveries.length, 'each event reached the receiver once');
  t.is(new Set(receiver.received.map((r) => r.headers['webhook-id'])).size, deliveries.length);
});

test.serial('an attempt that outlived its lease records nothing: the outcome is the one of the attempt that holds the lease', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepygame');
  const receiver = await webhookReceiver();
  t.teardown(() => receiver.close());
  await createWebhook(hub.db, hub.events.webhookBox, { service: 'vezepygame', url: receiver.url });
  await hub.events.webhooks.stop();
  const person = await makePerson(hub);
  await grant(hub, person.email, 'vezepygame', 'pro');

  // The same worker leases the delivery, its attempt stalls past the (1 s) lease, and the worker
  // leases it again: two attempts of one owner are in flight.
  const [first] = await eventually(() => webhookQueries.lease(hub.db, 'worker-a', 1, 10).then((rows) => (rows.length ? rows : null)), 10_000, 'a lease');
  const [second] = await eventually(() => webhookQueries.lease(hub.db, 'worker-a', 30, 10).then((rows) => (rows.length ? rows : null)), 10_000, 'the lease taken over');
  t.is(second!.id, first!.id);
  t.not(second!.lease_owner, first!.lease_owner, 'each lease has a token of its own');

  t.true(await webhookQueries.settle(hub.db, second!, { status_code: 204, error: null, duration_ms: 12 }));
  t.false(await webhookQueries.settle(hub.db, first!, { status_code: 503, error: 'receiver answered 503', duration_ms: 1500 }), 'the stale attempt is fenced off');

  const row = await hub.db('webhook_deliveries').where({ id: first!.id }).first();
  t.like(row, { status: 'delivered', last_status: 204, last_error: null, attempts: 2, lease_owner: null });
  t.deepEqual((await deliveryAttempts(hub.db, first!.id)).map((a) => a.status_code), [204], 'only the holder\'s attempt is on record');
});
