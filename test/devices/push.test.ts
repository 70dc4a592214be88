import type { ExecutionContext } from 'ava';
import test from 'ava';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import type { Hub } from '../../src/app/start.ts';
import { userQueries } from '../../src/queries/users.ts';
import { checkResponse } from '../api/openapi-check.ts';
import { api, eventsSettled, eventually, personToken, serviceToken, WsClient } from '../events/helpers.ts';
import { auditEntriesOf } from '../helpers/audit.ts';
import { grant, makeClient, makePerson, makeService, type Person } from '../helpers/fixtures.ts';
import { realBackends, testRedisUrl } from '../helpers/backend.ts';
import { startTestHub } from '../helpers/hub.ts';
import { browserKeys, decryptWebPush, nativeKeys, pushServices, verifyVapid, type Answer, type Received } from './push-services.ts';

// One hub (two in one test) at a time: a dozen at once took more than PostgreSQL's 100 connections in CI's real run.
const apnsKeyId = 'KEYID12345';
const apnsTeamId = 'TEAM123456';
const fcmAccount = 'push@veze-test.iam.gserviceaccount.com';

/** A hub that pushes to local stand-ins of the push services (trusted through PUSH_CA), and Ada with a registered browser extension. */
async function setup(t: ExecutionContext, answer?: (request: Received) => Answer | undefined, env: Record<string, string> = {}) {
  const services = await pushServices(answer);
  t.teardown(() => services.close());
  const keys = nativeKeys();
  const hubEnv = {
      PUSH_CA: services.ca,
      // The stand-ins listen on 127.0.0.1: a private address, refused unless the operator allows it.
      PUSH_PRIVATE_ENDPOINTS: 'true',
      ...env,
      VAPID_SUBJECT: 'mailto:push@veze.example',
      APNS_KEY: keys.apnsPem,
      APNS_KEY_ID: apnsKeyId,
      APNS_TEAM_ID: apnsTeamId,
      APNS_TOPIC: 'com.veze.game',
      APNS_URL: services.url,
      FCM_SERVICE_ACCOUNT: JSON.stringify({ project_id: 'veze-test', client_email: fcmAccount, private_key: keys.fcmPem, token_uri: `${services.url}/token` }),
      FCM_URL: services.url,
  };
  const hub = await startTestHub(t, { env: hubEnv });
  await makeService(hub, 'vezepygame');
  const ada = await makePerson(hub, { name: 'Ada' });
  const token = await personToken(hub, ada, 'vezepygame');
  const device = await api(hub, '/hub/devices', token, { method: 'POST', body: JSON.stringify({ kind: 'browser_extension', name: 'Ada’s extension', os: 'Chrome 131', app_version: '1.0' }) });
  await settled(hub);
  return { hub, hubEnv, services, keys, ada, token, deviceId: device.body.id as string };
}

/** Every event relayed and every subscriber task done (so an earlier event cannot push to a later subscription). */
async function settled(hub: Hub): Promise<void> {
  await eventsSettled(hub);
  await eventually(async () => Number((await hub.db('event_tasks').count('* as n').first())?.n) === 0, 10_000, 'the subscriber tasks');
}

/** Ada's extension subscribes with a fresh key pair, at an endpoint of the local push service. */
async function subscribeWebPush(hub: Hub, token: string, endpoint: string) {
  const keys = browserKeys();
  const response = await api(hub, '/hub/push/subscriptions', token, { method: 'POST', body: JSON.stringify({ endpoint, expirationTime: null, keys: { p256dh: keys.p256dh, auth: keys.auth } }) });
  return { keys, response };
}

const deliveries = (hub: Hub, userId: string) => hub.db('push_deliveries').where({ user_id: userId }).orderBy('created_at');

test.serial('Web Push end to end: VAPID-signed, aes128gcm-encrypted for the subscription, in the person’s language; decrypted by the test with the browser’s keys', async (t) => {
  const { hub, services, ada, token, deviceId } = await setup(t);
  const key = await api(hub, '/hub/push/vapid-public-key', token);
  checkResponse(t, '/hub/push/vapid-public-key', 'GET', key);
  t.deepEqual([...key.body.senders].sort(), ['apns', 'fcm', 'webpush']);
  await userQueries.setPreferences(hub.db, ada.id, { locale: 'de' });

  const endpoint = `${services.url}/push/ada-extension`;
  const { keys, response } = await subscribeWebPush(hub, token, endpoint);
  t.is(response.status, 201);
  checkResponse(t, '/hub/push/subscriptions', 'POST', response);
  t.like(response.body, { kind: 'webpush', device_id: deviceId, label: 'Ada’s extension', enabled: true });
  const again = await api(hub, '/hub/push/subscriptions', token, { method: 'POST', body: JSON.stringify({ endpoint, keys: { p256dh: keys.p256dh, auth: keys.auth } }) });
  t.is(again.status, 200, 'the same subscription again is the one it had');
  t.is(again.body.id, response.body.id);
  const [created] = await auditEntriesOf(hub.db, ada.id, 'push_subscription.created');
  t.like(created, { actor_id: ada.id, data: { subscription_id: response.body.id, kind: 'webpush', device_id: deviceId } });

  await grant(hub, ada.email, 'vezepygame', 'pro');
  const [push] = await eventually(() => (services.of('/push/').length ? services.of('/push/') : null), 15_000, 'the push');
  t.is(push!.method, 'POST');
  t.is(push!.headers['content-encoding'], 'aes128gcm');
  t.is(push!.headers['content-type'], 'application/octet-stream');
  t.is(push!.headers.ttl, '86400');
  t.is(push!.headers.urgency, 'normal');
  const vapid = await verifyVapid(push!.headers.authorization as string);
  t.is(vapid.alg, 'ES256');
  t.is(vapid.k, key.body.public_key, 'signed with the key browsers subscribe to');
  t.is(vapid.claims.aud, services.url, 'the audience is the push service’s origin');
  t.is(vapid.claims.sub, 'mailto:push@veze.example');
  t.true(vapid.claims.exp! > Date.now() / 1000 && vapid.claims.exp! <= Date.now() / 1000 + 24 * 3600);

  const payload = JSON.parse(decryptWebPush(push!.body, keys)) as Record<string, string>;
  t.deepEqual(payload, {
    type: 'entitlement.granted',
    title: 'Ihre Tarife haben sich geändert',
    body: payload.body,
    url: `${hub.url}/account/services`,
  });
  t.is(payload.body, 'Neue Berechtigung verfügbar: VEZEPYGAME pro', 'the toast’s words, with the service’s name');

  await eventually(async () => (await deliveries(hub, ada.id))[0]?.status === 'sent', 5000, 'the delivery recorded as sent');
  const row = await hub.db('push_subscriptions').where({ id: response.body.id }).first();
  t.truthy(row.last_success_at);
  t.regex(await hub.events.metrics.pushAttempts.get().then((m) => JSON.stringify(m.values)), /"sender":"webpush","outcome":"sent"/);

  const listed = await api(hub, '/hub/push/subscriptions', token);
  checkResponse(t, '/hub/push/subscriptions', 'GET', listed);
  t.is(listed.body.subscriptions.length, 1);
  const removed = await api(hub, `/hub/push/subscriptions/${response.body.id}`, token, { method: 'DELETE' });
  t.is(removed.status, 204);
  const [audited] = await auditEntriesOf(hub.db, ada.id, 'push_subscription.removed');
  t.like(audited, { actor_id: ada.id, data: { reason: 'unsubscribed' } });
  t.is((await api(hub, `/hub/push/subscriptions/${response.body.id}`, token, { method: 'DELETE' })).status, 404);
});

const pushTasksDone = async (hub: Hub) => (await hub.events.metrics.taskRuns.get()).values.find((v) => v.labels.consumer === 'push' && v.labels.outcome === 'done')?.value ?? 0;

test.serial('an event of a person with no device to push to makes the push subscriber no task; once they subscribe, their next event is pushed', async (t) => {
  const { hub, services, ada, token } = await setup(t);
  const bob = await makePerson(hub, { name: 'Bob' });
  await grant(hub, ada.email, 'vezepygame', 'pro');
  await grant(hub, bob.email, 'vezepygame', 'pro');
  await settled(hub);
  t.is(await pushTasksDone(hub), 0, 'no task for events nobody can be pushed');
  t.deepEqual(await deliveries(hub, ada.id), []);

  t.is((await subscribeWebPush(hub, token, `${services.url}/push/ada-extension`)).response.status, 201);
  await grant(hub, ada.email, 'vezepygame', 'max');
  await grant(hub, bob.email, 'vezepygame', 'max');
  await settled(hub);
  t.is(await pushTasksDone(hub), 1, 'one task: Ada\'s');
  t.like((await deliveries(hub, ada.id))[0], { event_type: 'entitlement.changed' });
  await eventually(() => (services.of('/push/').length ? services.of('/push/') : null), 15_000, 'the push');
});

test.serial('by default a browser\'s endpoint must be public: one at a private address is dropped, one whose name resolves to loopback is refused before connecting; the hub never posts into its own network', async (t) => {
  const { hub, services, ada, token } = await setup(t, undefined, { PUSH_PRIVATE_ENDPOINTS: 'false' });
  const port = new URL(services.url).port;
  const literal = await subscribeWebPush(hub, token, `https://127.0.0.1:${port}/push/literal`);
  const named = await subscribeWebPush(hub, token, `https://localhost:${port}/push/named`);
  t.is(literal.response.status, 201);
  t.is(named.response.status, 201);
  await grant(hub, ada.email, 'vezepygame', 'pro');

  await eventually(async () => !(await hub.db('push_subscriptions').where({ id: literal.response.body.id }).first()), 15_000, 'the private-address subscription dropped');
  const refused = await eventually(async () => (await hub.db('push_deliveries').where({ subscription_id: named.response.body.id }).whereNotNull('last_error').first()) ?? null, 15_000, 'the loopback name refused');
  t.regex(refused.last_error, /not a public address/);
  t.deepEqual(services.of('/push/'), [], 'nothing reached the service inside the network');
});

test.serial('a subscription the push service calls gone (410) is dropped, audited as the system; a 500 is tried again until it goes', async (t) => {
  let failuresLeft = 1;
  const { hub, services, ada, token } = await setup(t, (request) => {
    if (request.path === '/push/gone') return { status: 410 };
    if (request.path === '/push/flaky' && failuresLeft > 0) {
      failuresLeft--;
      return { status: 500 };
    }
    return undefined;
  });
  const gone = await subscribeWebPush(hub, token, `${services.url}/push/gone`);
  const flaky = await subscribeWebPush(hub, token, `${services.url}/push/flaky`);
  await grant(hub, ada.email, 'vezepygame', 'pro');

  await eventually(async () => !(await hub.db('push_subscriptions').where({ id: gone.response.body.id }).first()), 15_000, 'the expired subscription dropped');
  const [dropped] = await auditEntriesOf(hub.db, ada.id, 'push_subscription.removed');
  t.like(dropped, { actor_id: null, data: { subscription_id: gone.response.body.id, reason: 'expired', via: 'system', status: 410 } });
  t.truthy(await hub.db('outbox').where({ type: 'push_subscription.removed', user_id: ada.id }).first(), 'and its event');

  const delivered = await eventually(async () => (await hub.db('push_deliveries').where({ subscription_id: flaky.response.body.id, status: 'sent' }).first()) ?? null, 20_000, 'the retried push');
  t.is(delivered.attempts, 2, 'one failure, then sent');
  t.is(services.of('/push/flaky').length, 2);
  t.is(JSON.parse(decryptWebPush(services.of('/push/flaky')[1]!.body, flaky.keys)).type, 'entitlement.granted');
  t.is((await hub.db('push_subscriptions').where({ id: flaky.response.body.id }).first()).failure_count, 0);
});

test.serial('a device with a live connection open gets no push (it hears the event there); once it disconnects, pushes go again', async (t) => {
  const { hub, services, ada, token } = await setup(t);
  const { response } = await subscribeWebPush(hub, token, `${services.url}/push/live`);
  const stream = await WsClient.open(`${hub.url}/hub/events`, { authorization: `Bearer ${token}` });
  t.teardown(() => stream.close());
  await eventually(() => stream.messages.find((m) => m.type === 'ready'), 10_000, 'the stream');

  await grant(hub, ada.email, 'vezepygame', 'pro');
  await eventually(() => stream.messages.find((m) => m.type === 'event' && (m.event as { type: string }).type === 'entitlement.granted'), 10_000, 'the event on the stream');
  const skipped = await eventually(async () => (await hub.db('push_deliveries').where({ subscription_id: response.body.id, status: 'skipped' }).first()) ?? null, 10_000, 'the push skipped');
  t.is(skipped.event_type, 'entitlement.granted');
  t.is(services.of('/push/').length, 0);

  await stream.close();
  await eventually(async () => !(await hub.events.live.hasConnection(ada.id, null)) && hub.events.live.connectionCount === 0, 10_000, 'the stream closed');
  await grant(hub, ada.email, 'vezepygame', 'elite');
  await eventually(() => (services.of('/push/').length ? true : null), 15_000, 'the push after the stream closed');
  t.is(services.of('/push/').length, 1);
});

(realBackends && testRedisUrl ? test.serial : test.skip)('two instances: a device connected to one gets no push from the other\'s worker either; once it disconnects, both push again', async (t) => {
  const { hub: a, hubEnv, services, ada, token } = await setup(t);
  const b = await startTestHub(t, { secret: a.config.secret, env: { ...hubEnv, REDIS_PREFIX: a.config.redisPrefix }, database: a.config.database });
  const { response } = await subscribeWebPush(a, token, `${services.url}/push/two`);
  const grantRef = (await a.db('devices').where({ user_id: ada.id }).first()).grant_ref as string;
  t.false(await b.events.live.hasConnection(ada.id, grantRef));
  const stream = await WsClient.open(`${a.url}/hub/events`, { authorization: `Bearer ${token}` });
  t.teardown(() => stream.close());
  await eventually(() => stream.messages.find((m) => m.type === 'ready'), 10_000, 'the stream on a');
  await eventually(async () => ((await b.events.live.hasConnection(ada.id, grantRef)) ? true : undefined), 5_000, 'b to know the device is connected to a');

  // Whichever instance's worker takes them, the pushes are skipped while the device is connected.
  for (const tier of ['pro', 'elite', 'basic']) await grant(a, ada.email, 'vezepygame', tier);
  await eventually(async () => ((await a.db('push_deliveries').where({ subscription_id: response.body.id, status: 'skipped' })).length === 3 ? true : undefined), 15_000, 'three pushes skipped');
  t.is(services.of('/push/two').length, 0);

  await stream.close();
  await eventually(async () => (!(await b.events.live.hasConnection(ada.id, grantRef)) ? true : undefined), 5_000, 'b to know it left');
  await grant(a, ada.email, 'vezepygame', 'pro');
  await eventually(() => (services.of('/push/two').length ? true : null), 15_000, 'the push after the stream closed');
});

test.serial('settings: a kind switched off pushes nothing; quiet hours hold a push until they end on the person’s clock; a device switched off gets none', async (t) => {
  const { hub, services, ada, token } = await setup(t);
  const { response } = await subscribeWebPush(hub, token, `${services.url}/push/settings`);
  const { saveNotificationSettings } = await import('../../src/devices/notification-settings.ts');
  const { setSubscriptionsEnabled } = await import('../../src/devices/push-subscriptions.ts');

  await saveNotificationSettings(hub.db, ada.id, { kinds: ['sign_in', 'service_notices'] });
  await grant(hub, ada.email, 'vezepygame', 'pro');
  await settled(hub);
  t.is((await deliveries(hub, ada.id)).length, 0, 'entitlements off: nothing queued');

  // Quiet hours around now in Ada's zone.
  await userQueries.setPreferences(hub.db, ada.id, { time_zone: 'Asia/Kolkata' });
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Kolkata', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(new Date());
  const now = Number(parts.find((p) => p.type === 'hour')!.value) * 60 + Number(parts.find((p) => p.type === 'minute')!.value);
  const clock = (m: number) => `${String(Math.floor(((m + 1440) % 1440) / 60)).padStart(2, '0')}:${String(((m + 1440) % 1440) % 60).padStart(2, '0')}`;
  await saveNotificationSettings(hub.db, ada.id, { kinds: ['entitlements'], quiet_start: clock(now - 60), quiet_end: clock(now + 120) });
  const [saved] = await auditEntriesOf(hub.db, ada.id, 'notification_settings.changed');
  t.like(saved, { actor_id: ada.id, data: { kinds: ['sign_in', 'service_notices'] } });
  await grant(hub, ada.email, 'vezepygame', 'elite');
  const held = await eventually(async () => (await deliveries(hub, ada.id))[0] ?? null, 10_000, 'the held push');
  const wait = (new Date(held.next_attempt_at).getTime() - Date.now()) / 60_000;
  t.true(wait > 118 && wait <= 120, `held for ${wait} minutes, until the quiet hours end`);
  t.is(held.status, 'pending');
  await new Promise((resolve) => setTimeout(resolve, 1500));
  t.is(services.of('/push/').length, 0, 'nothing sent during the quiet hours');

  // Entitlements turned off while the push is held: when the quiet hours end, it is not sent.
  await saveNotificationSettings(hub.db, ada.id, { kinds: ['sign_in'] });
  await hub.db('push_deliveries').where({ id: held.id }).update({ next_attempt_at: new Date() });
  hub.events.push.worker.nudge();
  await eventually(async () => (await hub.db('push_deliveries').where({ id: held.id }).first()).status === 'skipped', 10_000, 'the held push skipped: its kind is off now');
  t.is(services.of('/push/').length, 0);
  await hub.db('push_deliveries').where({ id: held.id }).update({ status: 'pending', next_attempt_at: new Date(Date.now() + 3_600_000), finished_at: null });

  await saveNotificationSettings(hub.db, ada.id, { kinds: ['entitlements'] });
  await setSubscriptionsEnabled(hub.db, ada.id, []);
  t.false((await hub.db('push_subscriptions').where({ id: response.body.id }).first()).enabled);
  await grant(hub, ada.email, 'vezepygame', 'pro');
  await settled(hub);
  t.is((await deliveries(hub, ada.id)).length, 1, 'a device switched off: nothing more queued');

  // The quiet hours end (the clock moved on, not slept through): the held push goes to the worker, which finds the device switched off.
  await hub.db('push_deliveries').where({ id: held.id }).update({ next_attempt_at: new Date() });
  hub.events.push.worker.nudge();
  await eventually(async () => (await hub.db('push_deliveries').where({ id: held.id }).first()).status === 'skipped', 10_000, 'the held push skipped');
  t.is(services.of('/push/').length, 0);
});

test.serial('APNs: HTTP/2 to /3/device/<token> with an ES256 provider token (kid, iss = team), apns-topic, -push-type, -priority and an aps alert; 410 Unregistered drops it', async (t) => {
  let unregistered = false;
  const { hub, services, keys, ada, token } = await setup(t, (request) => (request.path.startsWith('/3/device/') && unregistered ? { status: 410, body: { reason: 'Unregistered', timestamp: Date.now() } } : undefined));
  const deviceToken = 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';
  const subscribed = await api(hub, '/hub/push/subscriptions', token, { method: 'POST', body: JSON.stringify({ kind: 'apns', token: deviceToken }) });
  t.is(subscribed.status, 201);
  checkResponse(t, '/hub/push/subscriptions', 'POST', subscribed);

  const posted = await api(hub, '/api/v1/events', await serviceToken(hub, 'vezepygame'), { method: 'POST', body: JSON.stringify({ type: 'game.match_finished', user: ada.id, data: { score: 3 } }) });
  t.is(posted.status, 202);
  const [request] = await eventually(() => (services.of('/3/device/').length ? services.of('/3/device/') : null), 15_000, 'the APNs request');
  t.is(request!.version, '2.0', 'HTTP/2');
  t.is(request!.method, 'POST');
  t.is(request!.path, `/3/device/${deviceToken}`);
  t.is(request!.headers['apns-topic'], 'com.veze.game');
  t.is(request!.headers['apns-push-type'], 'alert');
  t.is(request!.headers['apns-priority'], '10');
  t.regex(String(request!.headers['apns-expiration']), /^\d+$/);
  const jwt = /^bearer (.+)$/.exec(String(request!.headers.authorization))![1]!;
  t.deepEqual(decodeProtectedHeader(jwt), { alg: 'ES256', kid: apnsKeyId });
  const { payload } = await jwtVerify(jwt, keys.apnsPublic, { algorithms: ['ES256'], issuer: apnsTeamId });
  t.true(Math.abs(payload.iat! - Date.now() / 1000) < 60);
  const body = JSON.parse(request!.body.toString('utf8'));
  t.deepEqual(body, { aps: { alert: { title: 'News from VEZEPYGAME', body: 'VEZEPYGAME: Match finished' }, sound: 'default' }, type: 'game.match_finished', url: `${hub.url}/account/services` });

  unregistered = true;
  await grant(hub, ada.email, 'vezepygame', 'pro');
  await eventually(async () => !(await hub.db('push_subscriptions').where({ id: subscribed.body.id }).first()), 15_000, 'the unregistered token dropped');
  const [dropped] = await auditEntriesOf(hub.db, ada.id, 'push_subscription.removed');
  t.like(dropped, { actor_id: null, data: { kind: 'apns', reason: 'expired', status: 410 } });
});

test.serial('FCM HTTP v1: an access token from the service account’s RS256 JWT at its token URI, then messages:send with the token, notification and data; UNREGISTERED drops it', async (t) => {
  let unregistered = false;
  const { hub, services, keys, ada, token } = await setup(t, (request) =>
    request.path.startsWith('/v1/') && unregistered ? { status: 404, body: { error: { code: 404, status: 'NOT_FOUND', message: 'Requested entity was not found.', details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: 'UNREGISTERED' }] } } } : undefined,
  );
  const fcmToken = 'fcm-token:APA91bH_example_registration_token';
  const subscribed = await api(hub, '/hub/push/subscriptions', token, { method: 'POST', body: JSON.stringify({ kind: 'fcm', token: fcmToken }) });
  t.is(subscribed.status, 201);

  await grant(hub, ada.email, 'vezepygame', 'pro');
  const [send] = await eventually(() => (services.of('/v1/').length ? services.of('/v1/') : null), 15_000, 'the FCM request');
  const [exchange] = services.of('/token');
  t.is(exchange!.headers['content-type'], 'application/x-www-form-urlencoded');
  const form = new URLSearchParams(exchange!.body.toString('utf8'));
  t.is(form.get('grant_type'), 'urn:ietf:params:oauth:grant-type:jwt-bearer');
  t.is(decodeProtectedHeader(form.get('assertion')!).alg, 'RS256');
  const { payload } = await jwtVerify(form.get('assertion')!, keys.fcmPublic, { algorithms: ['RS256'], issuer: fcmAccount, audience: `${services.url}/token` });
  t.is(payload.scope, 'https://www.googleapis.com/auth/firebase.messaging');
  t.is(payload.exp! - payload.iat!, 3600);

  t.is(send!.path, '/v1/projects/veze-test/messages:send');
  t.is(send!.headers.authorization, 'Bearer ya29.test-access-token');
  t.regex(String(send!.headers['content-type']), /^application\/json/);
  const body = JSON.parse(send!.body.toString('utf8'));
  t.deepEqual(body, {
    message: {
      token: fcmToken,
      notification: { title: 'Your plans changed', body: body.message.notification.body },
      data: { type: 'entitlement.granted', url: `${hub.url}/account/services` },
      android: { priority: 'high' },
    },
  });

  unregistered = true;
  await grant(hub, ada.email, 'vezepygame', 'elite');
  await eventually(async () => !(await hub.db('push_subscriptions').where({ id: subscribed.body.id }).first()), 15_000, 'the unregistered token dropped');
  t.is(services.of('/token').length, 1, 'the access token is reused until it ends');
});

test.serial('bad subscriptions are 4xx that say what is wrong; APNs and FCM are off unless configured; a token without a device cannot subscribe', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepygame');
  const ada: Person = await makePerson(hub);
  const token = await personToken(hub, ada, 'vezepygame');
  const post = (body: unknown) => api(hub, '/hub/push/subscriptions', token, { method: 'POST', body: JSON.stringify(body) });
  const keys = browserKeys();

  const noDevice = await post({ endpoint: 'https://push.example/x', keys: { p256dh: keys.p256dh, auth: keys.auth } });
  t.is(noDevice.status, 409);
  checkResponse(t, '/hub/push/subscriptions', 'POST', noDevice);
  await api(hub, '/hub/devices', token, { method: 'POST', body: JSON.stringify({ kind: 'phone', os: 'iOS 18', app_version: '1.0' }) });

  const http = await post({ endpoint: 'http://push.example/x', keys: { p256dh: keys.p256dh, auth: keys.auth } });
  t.is(http.status, 400);
  t.regex(http.body.detail, /https:\/\//);
  const shortKey = await post({ endpoint: 'https://push.example/x', keys: { p256dh: 'AAAA', auth: keys.auth } });
  t.is(shortKey.status, 400);
  checkResponse(t, '/hub/push/subscriptions', 'POST', shortKey);
  t.regex(JSON.stringify(shortKey.body), /p256dh/);
  const apns = await post({ kind: 'apns', token: 'a1b2c3d4e5f6a7b8' });
  t.is(apns.status, 400);
  t.regex(apns.body.detail, /does not push through APNs/);
  t.is((await post({ kind: 'fcm', token: 'x' })).status, 400);
  t.is((await api(hub, '/hub/push/subscriptions', token, { method: 'POST', body: 'not json' })).status, 400);
  t.deepEqual((await api(hub, '/hub/push/vapid-public-key', token)).body.senders, ['webpush']);
  t.is(await hub.db('push_subscriptions').count('* as n').first().then((r) => Number(r?.n)), 0);
  t.is((await api(hub, '/hub/push/subscriptions/not-a-uuid', token, { method: 'DELETE' })).status, 404);
});

test.serial('VAPID keys: made once and kept sealed, the same for every start; or taken from VAPID_PUBLIC_KEY / VAPID_PRIVATE_KEY', async (t) => {
  const hub = await startTestHub(t);
  const made = hub.events.push.publicKey();
  const row = await hub.db('vapid_keys').first();
  t.is(row.public_key, made);
  t.true(row.private_key_sealed.startsWith('v1.'), 'sealed with the master secret');
  const { loadVapidKeys } = await import('../../src/devices/vapid-keys.ts');
  t.is((await loadVapidKeys(hub.db, hub.config.push, hub.config.secret)).publicKey, made, 'a second start reads the same pair');

  const webpush = (await import('web-push')).default;
  const pair = webpush.generateVAPIDKeys();
  const configured = await startTestHub(t, { env: { VAPID_PUBLIC_KEY: pair.publicKey, VAPID_PRIVATE_KEY: pair.privateKey } });
  t.is(configured.events.push.publicKey(), pair.publicKey);
  t.is(await configured.db('vapid_keys').first(), undefined);
  const { loadConfig } = await import('../../src/platform/config.ts');
  t.throws(() => loadConfig({ UNIQVERSE_SECRET: 'x'.repeat(32), VAPID_PUBLIC_KEY: pair.publicKey }), { message: /set both or neither/ });
  t.throws(() => loadConfig({ UNIQVERSE_SECRET: 'x'.repeat(32), APNS_KEY_ID: 'KEYID12345' }), { message: /APNS_KEY, APNS_KEY_ID, APNS_TEAM_ID, APNS_TOPIC/ });
  t.throws(() => loadConfig({ UNIQVERSE_SECRET: 'x'.repeat(32), FCM_SERVICE_ACCOUNT: '{"project_id":"p"}' }), { message: /FCM_SERVICE_ACCOUNT/ });
});

test.serial('a hand-off offered on one device is pushed to the person\'s other devices, without its link, and not back to the device that offered it', async (t) => {
  const { hub, services, ada, token } = await setup(t);
  await makeClient(hub, { service: 'vezepygame', type: 'native', redirectUris: ['com.veze.game:/oauth'] });
  const extension = await subscribeWebPush(hub, token, `${services.url}/push/extension`);
  const desktop = await personToken(hub, ada, 'vezepygame');
  const desktopDevice = await api(hub, '/hub/devices', desktop, { method: 'POST', body: JSON.stringify({ kind: 'desktop', name: 'Ada’s desktop', os: 'Linux', app_version: '1.0' }) });
  t.is(desktopDevice.status, 201);
  await subscribeWebPush(hub, desktop, `${services.url}/push/desktop`);
  await settled(hub);

  const offer = await api(hub, '/hub/handoff', desktop, { method: 'POST', body: JSON.stringify({ what: 'match', title: 'Match 7: your turn', url: 'com.veze.game:/match/7', expires_in: 300 }) });
  t.is(offer.status, 201);
  // (The desktop's own sign-in was pushed to the extension too: the hand-off is the push of its type.)
  const payload = await eventually(
    () => services.of('/push/extension').map((push) => JSON.parse(decryptWebPush(push.body, extension.keys)) as Record<string, string>).find((p) => p.type === 'handoff.offered') ?? null,
    15_000,
    'the hand-off pushed to the extension',
  );
  t.like(payload, { type: 'handoff.offered', title: 'Continue on this device (VEZEPYGAME)', body: 'Match 7: your turn' });
  t.false(JSON.stringify(payload).includes('com.veze.game:/match/7'), 'the link is given once, to the device that takes it');
  await settled(hub);
  await eventually(async () => ((await deliveries(hub, ada.id)).every((d: { status: string }) => d.status !== 'pending') ? true : undefined), 10_000, 'the deliveries done');
  t.deepEqual(services.of('/push/desktop'), [], 'not pushed back to the device that offered it');
});
