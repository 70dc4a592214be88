import test from 'ava';
import type { Hub } from '../../src/app/start.ts';
import { grant, makePerson, makeService } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { UserAgent } from '../helpers/user-agent.ts';
import { api, eventually, personToken, serviceToken, SseClient } from '../events/helpers.ts';
import { checkResponse, openApiDocument } from './openapi-check.ts';

async function call(t: Parameters<typeof checkResponse>[0], hub: Hub, method: string, template: string, path: string, token: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await api(hub, path, token, { method, headers, ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}) });
  checkResponse(t, template, method, response);
  return response;
}

test('device app: services, entitlements, devices and activity, each answer as docs/openapi.yaml says', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepygame');
  await makeService(hub, 'vezepyemail');
  await makeService(hub, 'vezepyweb', { firstParty: true });
  const person = await makePerson(hub);
  await grant(hub, person.email, 'vezepygame', 'pro', '2030-01-01T00:00:00Z');
  const token = await personToken(hub, person, 'vezepyweb');
  // Another device is another app's sign-in (one grant is one device).
  const tvToken = await personToken(hub, person, 'vezepyweb');

  const services = await call(t, hub, 'GET', '/hub/services', '/hub/services', token);
  t.is(services.status, 200);
  // A person's answers are theirs alone: no shared cache keeps them, nor a refusal.
  t.is(services.headers.get('cache-control'), 'no-store');
  t.is((await api(hub, '/hub/services', '')).headers.get('cache-control'), 'no-store');
  const game = services.body.services.find((s: { slug: string }) => s.slug === 'vezepygame');
  t.deepEqual(game.entitlement, { tier: 'pro', expires_at: '2030-01-01T00:00:00.000Z', active: true });
  t.is(services.body.services.find((s: { slug: string }) => s.slug === 'vezepyemail').entitlement, null);

  const entitlements = await call(t, hub, 'GET', '/hub/entitlements', '/hub/entitlements', token);
  t.deepEqual(entitlements.body.entitlements, [{ service: 'vezepygame', service_name: 'VEZEPYGAME', tier: 'pro', expires_at: '2030-01-01T00:00:00.000Z', active: true }]);

  const phone = { kind: 'phone', name: "Ada's phone", os: 'iOS 18.2', app_version: '2.4.1', push_token: 'apns-token-1' };
  const created = await call(t, hub, 'POST', '/hub/devices', '/hub/devices', token, phone);
  t.is(created.status, 201);
  t.is(created.headers.get('location'), `/hub/devices/${created.body.id}`);
  t.like(created.body, { kind: 'phone', os: 'iOS 18.2', push: true });
  t.false('push_token' in created.body);
  const again = await call(t, hub, 'POST', '/hub/devices', '/hub/devices', token, { ...phone, app_version: '2.5.0' });
  t.is(again.status, 200, 'the same push token refreshes its device');
  t.is(again.body.id, created.body.id);
  t.is(again.body.app_version, '2.5.0');
  const tv = await call(t, hub, 'POST', '/hub/devices', '/hub/devices', tvToken, { kind: 'tv', os: 'tvOS 18', app_version: '1.0' });
  t.is(tv.status, 201);
  const listed = await call(t, hub, 'GET', '/hub/devices', '/hub/devices', token);
  t.is(listed.body.devices.length, 2);

  const revoked = await call(t, hub, 'DELETE', '/hub/devices/{id}', `/hub/devices/${tv.body.id}`, token);
  t.is(revoked.status, 204);
  t.is((await call(t, hub, 'DELETE', '/hub/devices/{id}', `/hub/devices/${tv.body.id}`, token)).status, 404);
  t.is((await call(t, hub, 'DELETE', '/hub/devices/{id}', '/hub/devices/not-a-uuid', token)).status, 404);
  t.deepEqual((await call(t, hub, 'GET', '/hub/devices', '/hub/devices', token)).body.devices.map((d: { id: string }) => d.id), [created.body.id]);

  // Bad input: 400 naming the field, 415 for a body that is not JSON.
  const bad = await call(t, hub, 'POST', '/hub/devices', '/hub/devices', token, { kind: 'toaster', os: '', app_version: '1' });
  t.is(bad.status, 400);
  t.truthy(bad.body.errors.kind);
  t.truthy(bad.body.errors.os);
  const form = await call(t, hub, 'POST', '/hub/devices', '/hub/devices', token, 'kind=phone', { 'content-type': 'application/x-www-form-urlencoded' });
  t.is(form.status, 415);
  const broken = await call(t, hub, 'POST', '/hub/devices', '/hub/devices', token, '{"kind":', { 'content-type': 'application/json' });
  t.is(broken.status, 400);

  // Activity: the device events, the sign-in that got the token, newest first, page by page.
  const page1 = await eventually(async () => {
    const response = await call(t, hub, 'GET', '/hub/activity', '/hub/activity?limit=2', token);
    return response.body.items.length === 2 ? response : null;
  });
  t.deepEqual(page1.body.items.map((e: { type: string }) => e.type), ['device.revoked', 'device.registered']);
  t.truthy(page1.body.next);
  const page2 = await call(t, hub, 'GET', '/hub/activity', `/hub/activity?limit=2&before=${page1.body.next}`, token);
  t.deepEqual(page2.body.items.map((e: { type: string }) => e.type), ['device.registered', 'session.created']);
  t.like(page2.body.items[1].data, { service: 'vezepyweb', amr: ['pwd'], ip: '127.0.0.1' });
  const page3 = await call(t, hub, 'GET', '/hub/activity', `/hub/activity?limit=2&before=${page2.body.next}`, token);
  t.deepEqual(page3.body.items.map((e: { type: string }) => e.type), ['session.created', 'entitlement.granted']);
  const page4 = await call(t, hub, 'GET', '/hub/activity', `/hub/activity?limit=2&before=${page3.body.next}`, token);
  t.deepEqual(page4.body.items.map((e: { type: string }) => e.type), ['user.signup']);
  t.is(page4.body.next, null);
  const onlyGame = await call(t, hub, 'GET', '/hub/activity', '/hub/activity?service=vezepygame', token);
  t.deepEqual(onlyGame.body.items.map((e: { type: string }) => e.type), ['entitlement.granted']);
  t.is((await call(t, hub, 'GET', '/hub/activity', '/hub/activity?limit=1000', token)).status, 400);
});

test('the API refuses missing, foreign and wrong-kind tokens with a problem and a challenge', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepyemail');
  const service = await makeService(hub, 'vezepyweb', { firstParty: true });
  const person = await makePerson(hub);
  const token = await personToken(hub, person, 'vezepyweb');

  const none = await call(t, hub, 'GET', '/hub/services', '/hub/services', '');
  t.is(none.status, 401);
  t.is(none.headers.get('content-type'), 'application/problem+json');
  t.regex(none.headers.get('www-authenticate') ?? '', /^Bearer /);
  t.regex(none.body.detail, /\/hub/);

  const tampered = await call(t, hub, 'GET', '/hub/services', '/hub/services', `${token.slice(0, -6)}AAAAAA`);
  t.is(tampered.status, 401);
  t.regex(tampered.headers.get('www-authenticate') ?? '', /invalid_token/);

  void service;
  const machine = await serviceToken(hub, 'vezepyemail');
  const wrongKind = await call(t, hub, 'GET', '/hub/services', '/hub/services', machine);
  t.is(wrongKind.status, 403);
  const personPosting = await call(t, hub, 'POST', '/api/v1/events', '/api/v1/events', token, { type: 'email.sent', user: person.id });
  t.is(personPosting.status, 403);

  const narrow = await personToken(hub, person, 'vezepyweb', 'openid events');
  const noHubScope = await call(t, hub, 'GET', '/hub/services', '/hub/services', narrow);
  t.is(noHubScope.status, 403);
  t.regex(noHubScope.headers.get('www-authenticate') ?? '', /insufficient_scope/);
});

test('services post events in their own namespace, about their own people; bad events get 400 with the reason', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepyemail');
  await makeService(hub, 'vezepygame');
  await makeService(hub, 'vezepypay', { firstParty: true });
  const person = await makePerson(hub);
  const stranger = await makePerson(hub);
  await grant(hub, person.email, 'vezepyemail', 'basic');
  await grant(hub, person.email, 'vezepypay', 'basic');
  const mail = await serviceToken(hub, 'vezepyemail');
  const post = (token: string, body: unknown) => call(t, hub, 'POST', '/api/v1/events', '/api/v1/events', token, body);

  const cases: Array<[unknown, RegExp]> = [
    [{ type: 'game.match.finished', user: person.id }, /namespace: email\.\*/],
    [{ type: 'user.deleted', user: person.id }, /namespace/],
    [{ type: 'email', user: person.id }, /dotted/],
    [{ type: 'email.sent' }, /user/],
    [{ type: 'email.sent', user: 'someone' }, /sub/],
    [{ type: 'email.sent', user: '00000000-0000-4000-8000-000000000000' }, /No active person/],
    [{ type: 'email.sent', user: stranger.id }, /no entitlement or grant/],
    [{ type: 'email.sent', user: person.id, occurred_at: '2999-01-01T00:00:00Z' }, /future/],
    [{ type: 'email.sent', user: person.id, occurred_at: 'yesterday' }, /ISO-8601/],
    [{ type: 'email.sent', user: person.id, data: 'text' }, /data/],
    [{ type: 'email.sent', user: person.id, data: { blob: 'x'.repeat(20_000) } }, /larger/],
    [{ type: 'payment.completed', user: person.id, data: { service: 'vezepyemail', tier: 'pro' } }, /first-party/],
    [{ type: 'email.sent', user: person.id, data: { subject: 'a\u0000b' } }, /U\+0000/],
    [{ type: 'email.sent', user: person.id, data: { 'a\u0000': 1 } }, /U\+0000/],
    [{ type: 'email.sent', user: person.id, data: { subject: 'half a pair: \ud800' } }, /surrogate/],
  ];
  for (const [body, reason] of cases) {
    const response = await post(mail, body);
    t.is(response.status, 400, JSON.stringify(body).slice(0, 100));
    t.regex(response.body.detail, reason);
  }

  const id = '6f1c1c58-64a4-4bd1-9a47-3a39a36f0a51';
  const first = await post(mail, { id, type: 'email.bounced', user: person.id, data: { reason: 'mailbox full' } });
  t.is(first.status, 202);
  t.is(first.body.id, id);
  t.is(first.headers.get('cache-control'), 'no-store');
  const retried = await post(mail, { id, type: 'email.bounced', user: person.id, data: { reason: 'mailbox full' } });
  t.is(retried.status, 202, 'a retried post is idempotent');
  t.deepEqual(await hub.db('outbox').where({ id }).count('* as n').first(), { n: 1 });
  const game = await serviceToken(hub, 'vezepygame');
  t.is((await post(game, { id, type: 'game.won', user: person.id })).status, 409, 'an id another service used');
  t.is((await post(game, { type: 'game.won', user: person.id })).status, 400, 'the person has nothing at vezepygame');

  // A trusted service's payment sets the tier it paid for.
  const pay = await serviceToken(hub, 'vezepypay');
  t.is((await post(pay, { type: 'payment.completed', user: person.id, data: { service: 'vezepyemail' } })).status, 400, 'a payment names its tier');
  t.is((await post(pay, { type: 'payment.completed', user: person.id, data: { service: 'nowhere', tier: 'pro' } })).status, 400, 'and a service that exists');
  const paid = await post(pay, { type: 'payment.completed', user: person.id, data: { service: 'vezepyemail', tier: 'pro', expires_at: '2031-01-01T00:00:00Z' } });
  t.is(paid.status, 202, JSON.stringify(paid.body));
  const upgraded = await eventually(async () => {
    const row = await hub.db('entitlements as e').join('services as s', 's.id', 'e.service_id').where({ 's.slug': 'vezepyemail', 'e.user_id': person.id }).first('e.tier', 'e.expires_at');
    return row?.tier === 'pro' ? row : null;
  });
  t.is(new Date(upgraded.expires_at).toISOString(), '2031-01-01T00:00:00.000Z');
});

test('the portal\'s session cookie reads /hub/* and /hub/events, but cannot change anything', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepygame');
  const person = await makePerson(hub);
  await grant(hub, person.email, 'vezepygame', 'basic');
  const agent = new UserAgent();
  const { response } = await agent.follow(`${hub.url}/account/signin`, hub.url);
  const uid = /\/interaction\/([\w-]+)\/login/.exec(await response.text())![1];
  const posted = await agent.postForm(`${hub.url}/interaction/${uid}/login`, { email: person.email, password: person.password });
  const landed = await agent.follow(new URL(posted.headers.get('location')!, hub.url).href, hub.url);
  t.is(new URL(landed.url).pathname, '/account');
  const cookie = agent.cookieHeader();
  const read = await fetch(`${hub.url}/hub/entitlements`, { headers: { cookie } });
  t.is(read.status, 200);
  t.is((await read.json()).entitlements[0].tier, 'basic');
  const write = await fetch(`${hub.url}/hub/devices`, { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'phone', os: 'x', app_version: '1' }) });
  t.is(write.status, 401);

  const sse = await SseClient.open(`${hub.url}/hub/events`, { cookie });
  t.teardown(() => sse.close());
  t.is(sse.status, 200);
  await sse.waitFor((m) => m.event === 'ready');
  await grant(hub, person.email, 'vezepygame', 'pro');
  const changed = await sse.waitForEvent('entitlement.changed');
  t.like(changed.envelope.data, { service: 'vezepygame', tier: 'pro', previous_tier: 'basic' });
});

test('/openapi.json is docs/openapi.yaml, and /metrics shows the relay lag', async (t) => {
  const hub = await startTestHub(t);
  const served = await fetch(`${hub.url}/openapi.json`);
  t.is(served.status, 200);
  const body = await served.json();
  t.deepEqual(body, JSON.parse(JSON.stringify(openApiDocument)));
  t.is(body.openapi, '3.1.0');
  t.true(Object.keys(body.paths).every((p: string) => p.startsWith('/')));

  const metrics = await (await fetch(`${hub.url}/metrics`)).text();
  t.regex(metrics, /^uniqverse_event_relay_lag_seconds \d/m);
  t.regex(metrics, /^uniqverse_events_relayed_total \d/m);
  t.regex(metrics, /uniqverse_live_connections/);
});
