import { createHmac, timingSafeEqual } from 'node:crypto';
import test from 'ava';
import { appendEvent } from '../../src/outbox/outbox.ts';
import { webhookQueries } from '../../src/queries/webhooks.ts';
import { createWebhook, deliveryAttempts, listDeliveries, listWebhooks, replayDelivery } from '../../src/events/webhooks.ts';
import type { Hub } from '../../src/app/start.ts';
import { grant, makeClient, makePerson, makeService, relyingParty, type Person } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { authorize } from '../helpers/oidc.ts';
import { NamedAgent, userAgents } from '../portal/named-agent.ts';
import { webhooksCreate } from '../../src/cli/webhooks.ts';
import type { CliContext } from '../../src/cli/context.ts';
import { api, eventually, serviceToken, webhookReceiver, type ReceivedWebhook } from './helpers.ts';

/**
 * Standard Webhooks verification written from the spec, independently of src/events/webhook-signing.ts:
 * HMAC-SHA256 over "id.timestamp.body" keyed with the base64 secret after "whsec_"; any v1 signature may match.
 */
function verifyStandardWebhook(secret: string, request: ReceivedWebhook, now = Date.now()): boolean {
  const id = request.headers['webhook-id'];
  const timestamp = request.headers['webhook-timestamp'];
  const signatures = request.headers['webhook-signature'];
  if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof signatures !== 'string') return false;
  if (Math.abs(now / 1000 - Number(timestamp)) > 300) return false;
  const key = Buffer.from(secret.split('_')[1]!, 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${request.body}`).digest();
  return signatures.split(' ').some((entry) => {
    const [version, signature] = entry.split(',');
    const given = Buffer.from(signature ?? '', 'base64');
    return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected);
  });
}

const envelope = (r: ReceivedWebhook) => JSON.parse(r.body) as { id: string; type: string; user_id?: string; service?: string; data: Record<string, unknown> };

/**
 * Which services hear of a person is decided when the event is relayed: user.signup reaches a
 * service only if the person already holds something there by then, which races with the grant
 * that follows it in these tests. The tests look at the events they made.
 */
const made = (received: ReceivedWebhook[]) => received.filter((r) => envelope(r).type !== 'user.signup');

const userEvent = (hub: Hub, userId: string, type: string, data: Record<string, unknown>) =>
  hub.db.transaction((trx) => appendEvent(trx, { type, userId, data }));

async function postAs(hub: Hub, token: string, body: Record<string, unknown>) {
  return api(hub, '/api/v1/events', token, { method: 'POST', body: JSON.stringify(body) });
}

/** Signs the person in at a service from a browser of its own (sign-in pages, consent): a new session. */
async function signInAt(hub: Hub, person: Person, service: string, userAgent: string): Promise<NamedAgent> {
  const client = await makeClient(hub, { service, type: 'web' });
  const agent = new NamedAgent(userAgent);
  await authorize({ hub, rp: await relyingParty(hub, client), person }, {}, agent);
  return agent;
}

/** A portal form posted as the person in `agent`'s browser (with the CSRF token of its session). */
async function portalPost(hub: Hub, agent: NamedAgent, path: string, form: Record<string, string>): Promise<number> {
  const { response } = await agent.follow(`${hub.url}/account`, hub.url);
  const csrf = /<meta name="csrf-token" content="([^"]+)"/.exec(await response.text())?.[1];
  if (!csrf) throw new Error('the agent is not signed in to the portal');
  return (await agent.postForm(`${hub.url}${path}`, { ...form, _csrf: csrf })).status;
}

/** Waits until the relay has published every event written so far (and so queued their deliveries). */
const relayed = (hub: Hub) =>
  eventually(async () => Number((await hub.db('outbox').whereNull('published_at').count('* as n').first())?.n) === 0, 15_000, 'the relay to catch up');

/** The event types queued for a webhook about one person, in order. */
const queuedTypes = async (hub: Hub, webhookId: string, userId: string) =>
  (await hub.db('webhook_deliveries').where({ webhook_id: webhookId, ordering_key: userId }).orderBy('event_seq').select('event_type')).map((d: { event_type: string }) => d.event_type);

test('a service receives its own and its people\'s events, signed by the Standard Webhooks scheme', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepygame');
  await makeService(hub, 'vezepyemail');
  const receiver = await webhookReceiver();
  t.teardown(() => receiver.close());
  const hook = await createWebhook(hub.db, hub.events.webhookBox, { service: 'vezepygame', url: receiver.url });
  t.regex(hook.secret, /^whsec_[A-Za-z0-9+/]+=*$/);
  t.true(Buffer.from(hook.secret.slice(6), 'base64').length >= 24);

  const player = await makePerson(hub);
  const stranger = await makePerson(hub);
  await grant(hub, player.email, 'vezepygame', 'basic');
  await grant(hub, stranger.email, 'vezepyemail', 'basic');
  await userEvent(hub, player.id, 'user.updated', { email: player.email, name: 'New Name' });
  await userEvent(hub, stranger.id, 'user.updated', { email: stranger.email, name: 'Not for game' });
  const token = await serviceToken(hub, 'vezepygame');
  const posted = await postAs(hub, token, { type: 'game.match.finished', user: player.id, data: { score: 3 } });
  t.is(posted.status, 202);

  await eventually(() => receiver.received.find((r) => envelope(r).type === 'game.match.finished'), 15_000, 'the posted event');
  const types = made(receiver.received).map((r) => envelope(r).type);
  t.deepEqual(types, ['entitlement.granted', 'user.updated', 'game.match.finished']);
  for (const request of receiver.received) {
    t.true(verifyStandardWebhook(hook.secret, request), 'signature verifies');
    t.is(request.headers['webhook-id'], envelope(request).id);
    t.is(request.headers['content-type'], 'application/json');
    t.false(verifyStandardWebhook(hook.secret, { ...request, body: request.body.replace('}', ',"x":1}') }), 'a changed body does not');
  }
  t.true(receiver.received.every((r) => envelope(r).user_id === player.id));
  t.like(envelope(made(receiver.received)[0]!).data, { service: 'vezepygame', tier: 'basic', email: player.email });

  const [listed] = await eventually(async () => {
    const hooks = await listWebhooks(hub.db, { service: 'vezepygame' });
    return hooks[0]?.pending === 0 ? hooks : null;
  }, 10_000, 'every delivery recorded');
  t.like(listed, { id: hook.id, url: receiver.url, status: 'active', pending: 0, dead: 0 });
  const history = await listDeliveries(hub.db, { webhook: hook.id });
  t.is(history.items.length, receiver.received.length);
  t.true(history.items.every((d) => d.status === 'delivered' && d.attempts === 1 && d.last_status === 204));
});

test('--events narrows what a webhook receives', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepyemail');
  const receiver = await webhookReceiver();
  t.teardown(() => receiver.close());
  await createWebhook(hub.db, hub.events.webhookBox, { service: 'vezepyemail', url: receiver.url, events: ['email.*'] });
  const person = await makePerson(hub);
  await grant(hub, person.email, 'vezepyemail', 'basic');
  const token = await serviceToken(hub, 'vezepyemail');
  t.is((await postAs(hub, token, { type: 'email.sent', user: person.id, data: {} })).status, 202);
  await eventually(() => receiver.received.length === 1, 15_000, 'one delivery');
  t.is(envelope(receiver.received[0]!).type, 'email.sent');
  t.is(receiver.received.length, 1);
  await t.throwsAsync(createWebhook(hub.db, hub.events.webhookBox, { service: 'vezepyemail', url: receiver.url, events: ['Not A Type'] }), { message: /event types/ });
  await t.throwsAsync(createWebhook(hub.db, hub.events.webhookBox, { service: 'vezepyemail', url: 'ftp://example.test' }), { message: /http/ });
  await t.throwsAsync(createWebhook(hub.db, hub.events.webhookBox, { service: 'nope', url: receiver.url }), { message: /No service/ });
});

test('a 500 is retried within 10 seconds; later events of the person wait for it (order per person)', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepygame');
  let failedOnce = false;
  const receiver = await webhookReceiver((request) => {
    if (envelope(request).data.tier === 'silver' && !failedOnce) {
      failedOnce = true;
      return 500;
    }
    return 200;
  });
  t.teardown(() => receiver.close());
  const hook = await createWebhook(hub.db, hub.events.webhookBox, { service: 'vezepygame', url: receiver.url });
  const person = await makePerson(hub);
  for (const tier of ['bronze', 'silver', 'gold', 'platinum']) await grant(hub, person.email, 'vezepygame', tier);

  await eventually(() => receiver.received.filter((r) => envelope(r).data.tier === 'platinum').length, 20_000, 'the last event');
  const requests = made(receiver.received);
  t.deepEqual(requests.map((r) => envelope(r).data.tier), ['bronze', 'silver', 'silver', 'gold', 'platinum']);
  const retryGap = requests[2]!.at - requests[1]!.at;
  t.true(retryGap < 10_000, `retried after ${retryGap} ms`);
  t.is(requests[1]!.headers['webhook-id'], requests[2]!.headers['webhook-id'], 'same id on retry');

  const silver = (await listDeliveries(hub.db, { webhook: hook.id })).items.find((d) => (d.payload as { data: { tier: string } }).data.tier === 'silver')!;
  t.like(silver, { status: 'delivered', attempts: 2, last_status: 200 });
  const attempts = await deliveryAttempts(hub.db, silver.id);
  t.deepEqual(attempts.map((a) => a.status_code), [500, 200]);
  t.is(attempts[0]!.error, 'receiver answered 500');
});

// Serial: ava runs it before the file's other tests, so no other hub in this process is busy
// migrating its embedded database meanwhile; a stalled event loop would make answers that did
// come look like timeouts (0.5 s here), and the retries after them take longer than this waits.
test.serial('a receiver that does not answer in time is retried', async (t) => {
  const hub = await startTestHub(t, { env: { WEBHOOK_TIMEOUT_SECONDS: '0.5' } });
  await makeService(hub, 'vezepygame');
  let hung = false;
  const receiver = await webhookReceiver((request) => {
    if (hung || envelope(request).type !== 'entitlement.granted') return 204;
    hung = true;
    return 'hang';
  });
  t.teardown(() => receiver.close());
  const hook = await createWebhook(hub.db, hub.events.webhookBox, { service: 'vezepygame', url: receiver.url });
  const person = await makePerson(hub);
  await grant(hub, person.email, 'vezepygame', 'pro');
  const delivery = await eventually(async () => {
    const page = await listDeliveries(hub.db, { webhook: hook.id, status: 'delivered' });
    return page.items.find((d) => d.event_type === 'entitlement.granted');
  }, 30_000, 'delivered after a retry');
  const attempts = await deliveryAttempts(hub.db, delivery.id);
  t.is(attempts[0]!.status_code, null);
  t.regex(attempts[0]!.error!, /timed out/);
  t.is(attempts.at(-1)!.status_code, 204);
});

test('after a day of failures a delivery is parked as dead, and replay sends it again', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepygame');
  let healthy = false;
  const receiver = await webhookReceiver(() => (healthy ? 204 : 503));
  t.teardown(() => receiver.close());
  const hook = await createWebhook(hub.db, hub.events.webhookBox, { service: 'vezepygame', url: receiver.url });
  const person = await makePerson(hub);
  await grant(hub, person.email, 'vezepygame', 'pro');
  await eventually(() => receiver.received.length >= 1, 15_000, 'a first attempt');
  // A day passes (moved in the database rather than waited for).
  await hub.db('webhook_deliveries').where({ webhook_id: hook.id }).update({ created_at: hub.db.raw(`now() - interval '25 hours'`) });
  const dead = await eventually(async () => (await listDeliveries(hub.db, { webhook: hook.id, status: 'dead' })).items[0], 15_000, 'a dead delivery');
  t.is(dead.last_status, 503);
  t.is((await listWebhooks(hub.db))[0]!.dead, 1);
  const probe = await webhookQueries.lease(hub.db, 'probe', 1, 100);
  t.false(probe.some((d) => d.id === dead.id), 'a dead delivery is never leased again');

  healthy = true;
  const replayedAt = Date.now();
  await replayDelivery(hub.db, dead.id);
  hub.events.webhooks.nudge();
  await eventually(async () => (await listDeliveries(hub.db, { webhook: hook.id, status: 'delivered' })).items.some((d) => d.id === dead.id), 15_000, 'delivered after replay');
  t.true(receiver.received.some((r) => r.headers['webhook-id'] === dead.event_id && r.at >= replayedAt));
});

test('a delivery held by an instance that died is taken over when its lease runs out', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepygame');
  const receiver = await webhookReceiver();
  t.teardown(() => receiver.close());
  await createWebhook(hub.db, hub.events.webhookBox, { service: 'vezepygame', url: receiver.url });
  await hub.events.webhooks.stop();
  const person = await makePerson(hub);
  await grant(hub, person.email, 'vezepygame', 'pro');
  // Another instance leases the delivery (for 2 s) and dies before sending it.
  const leased = await eventually(() => webhookQueries.lease(hub.db, 'instance-that-died', 2, 10).then((rows) => (rows.length ? rows : null)), 10_000, 'a lease');
  t.is(leased.length, 1);
  const started = Date.now();
  hub.events.webhooks.start();
  await eventually(() => receiver.received.some((r) => r.headers['webhook-id'] === leased[0]!.event_id), 15_000, 'the takeover');
  t.true(Date.now() - started >= 1000, 'not before the lease ran out');
  const row = await eventually(() => hub.db('webhook_deliveries').where({ id: leased[0]!.id, status: 'delivered' }).first(), 10_000, 'recorded');
  t.is(row.attempts, 2);
});

test('uniqverse webhooks create --json gives { id, secret } that signs the deliveries', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepyemail');
  const receiver = await webhookReceiver();
  t.teardown(() => receiver.close());
  const ctx = { config: hub.config, db: hub.db, secrets: hub.secrets, hasher: hub.hasher, migrated: [] } as unknown as CliContext;
  const output = await webhooksCreate.run(ctx, { service: 'vezepyemail', url: receiver.url, events: ['email.*,entitlement.granted'] });
  const { id, secret, events } = output.json as { id: string; secret: string; events: string[] };
  t.regex(id, /^[0-9a-f-]{36}$/);
  t.deepEqual(events, ['email.*', 'entitlement.granted']);
  const person = await makePerson(hub);
  await grant(hub, person.email, 'vezepyemail', 'basic');
  await eventually(() => receiver.received.length === 1, 15_000, 'a delivery');
  t.true(verifyStandardWebhook(secret, receiver.received[0]!));
});

test('a service hears of its people\'s new sign-ins (session.created): the device, the address, the factors, the service signed in at', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepygame');
  await makeService(hub, 'vezepyweb', { firstParty: true });
  const receiver = await webhookReceiver();
  t.teardown(() => receiver.close());
  const hook = await createWebhook(hub.db, hub.events.webhookBox, { service: 'vezepygame', url: receiver.url });
  const player = await makePerson(hub);
  const stranger = await makePerson(hub);
  await grant(hub, player.email, 'vezepygame', 'basic');

  await signInAt(hub, player, 'vezepygame', userAgents.playStation);
  await signInAt(hub, stranger, 'vezepyweb', userAgents.iPhone);
  const signIn = await eventually(() => receiver.received.find((r) => envelope(r).type === 'session.created'), 15_000, 'session.created');
  const event = envelope(signIn);
  t.is(event.user_id, player.id);
  t.is(event.service, undefined, 'about the person, not an event of the service');
  const client = await hub.db('clients').where({ service_id: hub.db('services').where({ slug: 'vezepygame' }).select('id') }).first('client_id');
  t.deepEqual(event.data, { device: 'PlayStation 5', device_kind: 'console', ip: '127.0.0.1', amr: ['pwd'], client_id: client.client_id, service: 'vezepygame', new_device: false });
  t.true(verifyStandardWebhook(hook.secret, signIn));

  // The stranger holds nothing at the game: their sign-in (at another service) is not the game's business.
  await relayed(hub);
  t.deepEqual(await queuedTypes(hub, hook.id, stranger.id), []);
  t.like((await hub.db('outbox').where({ type: 'session.created', user_id: stranger.id }).first()).data, { device: 'Safari on iPhone', service: 'vezepyweb' });
});

test('"Your activity" off on the privacy page: the service no longer hears of the person\'s sign-ins and sign-outs, but still of their account; on again, it does', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepygame');
  const receiver = await webhookReceiver();
  t.teardown(() => receiver.close());
  const hook = await createWebhook(hub.db, hub.events.webhookBox, { service: 'vezepygame', url: receiver.url });
  const person = await makePerson(hub);
  await grant(hub, person.email, 'vezepygame', 'basic');
  const received = (type: string) => receiver.received.filter((r) => envelope(r).type === type && envelope(r).user_id === person.id);

  // On by default: the sign-in at the game (its browser is also signed in to the portal).
  const browser = await signInAt(hub, person, 'vezepygame', userAgents.macChrome);
  await eventually(() => received('session.created').length === 1, 15_000, 'the first sign-in');

  t.is(await portalPost(hub, browser, '/account/privacy/services/vezepygame', { profile: 'on', email: 'on' }), 303);
  t.like(await hub.db('service_consents').where({ user_id: person.id }).first(), { share_activity: false });
  await relayed(hub);
  const queuedBefore = (await queuedTypes(hub, hook.id, person.id)).length;
  await signInAt(hub, person, 'vezepygame', userAgents.iPhone);
  t.is(await portalPost(hub, browser, '/account/sessions/sign-out-others', {}), 303);
  await userEvent(hub, person.id, 'user.updated', { email: person.email, name: 'Still Told' });
  await grant(hub, person.email, 'vezepygame', 'pro');
  t.truthy(await hub.db('outbox').where({ type: 'session.revoked', user_id: person.id }).first(), 'the sign-out happened');
  // A person's deliveries go in order: once the last is in, nothing before it is still on its way.
  await eventually(() => received('entitlement.changed').length === 1, 15_000, 'the tier change');
  await relayed(hub);
  t.deepEqual((await queuedTypes(hub, hook.id, person.id)).slice(queuedBefore), ['user.updated', 'entitlement.changed']);
  t.is(received('session.created').length, 1, 'the sign-in while off was not sent');
  t.is(received('session.revoked').length, 0, 'nor the sign-out');
  t.like(envelope(received('user.updated')[0]!).data, { name: 'Still Told' });

  // On again: the next sign-in and sign-out are sent.
  t.is(await portalPost(hub, browser, '/account/privacy/services/vezepygame', { profile: 'on', email: 'on', activity: 'on' }), 303);
  await signInAt(hub, person, 'vezepygame', userAgents.playStation);
  t.is(await portalPost(hub, browser, '/account/sessions/sign-out-others', {}), 303);
  await eventually(() => received('session.revoked').length === 1, 15_000, 'the sign-out');
  t.is(received('session.created').length, 2);
  t.is(envelope(received('session.created')[1]!).data.device, 'PlayStation 5');
});

test('email or name off on the privacy page: that service\'s deliveries leave them out and say so in data.withheld; other services still get them', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepygame');
  await makeService(hub, 'vezepyemail');
  const atGame = await webhookReceiver();
  const atMail = await webhookReceiver();
  t.teardown(() => Promise.all([atGame.close(), atMail.close()]));
  const game = await createWebhook(hub.db, hub.events.webhookBox, { service: 'vezepygame', url: atGame.url });
  await createWebhook(hub.db, hub.events.webhookBox, { service: 'vezepyemail', url: atMail.url });
  const person = await makePerson(hub, { name: 'Ada Lovelace' });
  await grant(hub, person.email, 'vezepygame', 'basic');
  await grant(hub, person.email, 'vezepyemail', 'basic');
  const browser = await signInAt(hub, person, 'vezepygame', userAgents.macChrome);

  t.is(await portalPost(hub, browser, '/account/privacy/services/vezepygame', { profile: 'on', activity: 'on' }), 303);
  await userEvent(hub, person.id, 'user.updated', { email: person.email, email_verified: true, name: 'Ada Lovelace', changed: ['name'] });
  await grant(hub, person.email, 'vezepygame', 'pro');
  const delivered = (receiver: typeof atGame, type: string) => receiver.received.map(envelope).find((event) => event.type === type && event.user_id === person.id);

  const tierChange = await eventually(() => delivered(atGame, 'entitlement.changed'), 15_000, 'the tier change at the game');
  t.like(tierChange.data, { name: 'Ada Lovelace', tier: 'pro', withheld: ['email'] });
  t.false('email' in tierChange.data);
  t.true(verifyStandardWebhook(game.secret, atGame.received.find((r) => envelope(r).id === tierChange.id)!), 'signed as sent, withheld fields and all');
  const updateAtGame = await eventually(() => delivered(atGame, 'user.updated'), 15_000, 'user.updated at the game');
  t.deepEqual(updateAtGame.data, { name: 'Ada Lovelace', changed: ['name'], withheld: ['email', 'email_verified'] });
  const updateAtMail = await eventually(() => delivered(atMail, 'user.updated'), 15_000, 'user.updated at the mail service');
  t.like(updateAtMail.data, { email: person.email, email_verified: true, name: 'Ada Lovelace' });
  t.false('withheld' in updateAtMail.data);
});
