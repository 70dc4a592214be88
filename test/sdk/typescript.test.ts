import http from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import {
  createHubClient,
  exchangeToken,
  followEvents,
  HubError,
  InvalidServiceTokenError,
  postEvent,
  verifyServiceToken,
  verifyWebhook,
  WebhookVerificationError,
  type HubEvent,
} from '../../sdk/typescript/src/index.ts';
import { createWebhook } from '../../src/events/webhooks.ts';
import { grant, makeClient } from '../helpers/fixtures.ts';
import { scene, signedInTokens } from '../helpers/oidc.ts';
import { eventsSettled, eventually, personToken, webhookReceiver } from '../events/helpers.ts';

test('verifyServiceToken accepts the at+jwt the hub issued for the service and refuses it elsewhere', async (t) => {
  const s = await scene(t);
  const tokens = await signedInTokens(s, { scope: 'openid read', resource: s.service.resource });
  const options = { issuer: s.hub.url, audience: s.service.resource };
  const claims = await verifyServiceToken(tokens.access_token, options);
  t.is(claims.sub, s.person.id);
  t.is(claims.client_id, s.client.client_id);
  t.true(claims.scope!.split(' ').includes('read'));
  t.deepEqual((await verifyServiceToken(tokens.access_token, { ...options, requiredScopes: ['read'] })).sub, s.person.id);

  await t.throwsAsync(verifyServiceToken(tokens.access_token, { ...options, requiredScopes: ['write'] }), { instanceOf: InvalidServiceTokenError, message: /write/ });
  await t.throwsAsync(verifyServiceToken(tokens.access_token, { ...options, audience: 'urn:veze:service:other' }), { instanceOf: InvalidServiceTokenError, message: /aud/ });
  // The ID token comes from the same hub but is not an access token (another alg and typ).
  await t.throwsAsync(verifyServiceToken(tokens.id_token!, { ...options, audience: s.client.client_id }), { instanceOf: InvalidServiceTokenError, message: /alg|typ/ });
  const [header, payload, signature] = tokens.access_token.split('.');
  const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), sub: 'someone-else' })).toString('base64url');
  await t.throwsAsync(verifyServiceToken(`${header}.${forged}.${signature}`, options), { instanceOf: InvalidServiceTokenError, message: /signature/ });
});

test('verifyWebhook accepts a delivery the hub really made and refuses a wrong secret, a changed body and a stale one', async (t) => {
  const s = await scene(t);
  const receiver = await webhookReceiver();
  t.teardown(() => receiver.close());
  const hook = await createWebhook(s.hub.db, s.hub.events.webhookBox, { service: s.service.slug, url: receiver.url, events: ['entitlement.*'] });
  await grant(s.hub, s.person.email, s.service.slug, 'pro');
  const delivery = await eventually(async () => receiver.received[0]);

  const event = verifyWebhook(delivery.headers, delivery.body, hook.secret);
  t.is(event.type, 'entitlement.granted');
  t.is(event.user_id, s.person.id);
  t.is(event.data.tier, 'pro');
  t.is(event.id, String(delivery.headers['webhook-id']));
  // The same from a fetch Headers and from bytes.
  t.is(verifyWebhook(new Headers(delivery.headers as Record<string, string>), Buffer.from(delivery.body), hook.secret).id, event.id);
  // Several signatures (a secret being rotated): one good v1 is enough.
  const rotated = { ...delivery.headers, 'webhook-signature': `v1,${Buffer.alloc(32).toString('base64')} ${delivery.headers['webhook-signature']}` };
  t.is(verifyWebhook(rotated, delivery.body, hook.secret).id, event.id);

  const otherSecret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
  t.throws(() => verifyWebhook(delivery.headers, delivery.body, otherSecret), { instanceOf: WebhookVerificationError, message: /signature/ });
  t.throws(() => verifyWebhook(delivery.headers, delivery.body.replace('pro', 'max'), hook.secret), { instanceOf: WebhookVerificationError });
  const signedAt = Number(delivery.headers['webhook-timestamp']) * 1000;
  t.throws(() => verifyWebhook(delivery.headers, delivery.body, hook.secret, { now: signedAt + 301_000 }), { instanceOf: WebhookVerificationError, message: /timestamp/ });
  t.is(verifyWebhook(delivery.headers, delivery.body, hook.secret, { now: signedAt + 299_000 }).id, event.id);
  t.throws(() => verifyWebhook({ ...delivery.headers, 'webhook-signature': undefined }, delivery.body, hook.secret), { instanceOf: WebhookVerificationError });
});

test('postEvent posts with one cached client-credentials token, and followEvents receives the events and resumes after its last one', async (t) => {
  const s = await scene(t, { slug: 'vezepyemail' });
  await grant(s.hub, s.person.email, 'vezepyemail', 'basic');
  const web = await makeClient(s.hub, { service: 'vezepyemail', type: 'web' });
  let tokenRequests = 0;
  const counting: typeof fetch = (input, init) => {
    if (String(input instanceof Request ? input.url : input).endsWith('/token')) tokenRequests++;
    return fetch(input, init);
  };
  const credentials = { issuer: s.hub.url, clientId: web.client_id, clientSecret: web.client_secret!, fetch: counting };
  const hubToken = await personToken(s.hub, s.person, 'vezepyemail');
  await eventsSettled(s.hub);

  const received: Array<{ event: HubEvent; streamId: string }> = [];
  const first = new AbortController();
  let ready = false;
  const following = followEvents({
    issuer: s.hub.url,
    accessToken: hubToken,
    onReady: () => void (ready = true),
    onEvent: (event, streamId) => void received.push({ event, streamId }),
    signal: first.signal,
  });
  await eventually(async () => ready || undefined);
  const one = await postEvent(credentials, { type: 'email.received', user: s.person.id, data: { subject: 'One' } });
  const two = await postEvent(credentials, { type: 'email.received', user: s.person.id, data: { subject: 'Two' } });
  t.is(tokenRequests, 1, 'the second post reuses the token');
  await eventually(async () => (received.some((r) => r.event.id === two) ? true : undefined));
  first.abort();
  const position = await following;
  t.deepEqual(received.map((r) => r.event.id), [one, two]);
  t.is(position, received[1]!.streamId);

  // Missed while away, then resumed from the last stream id handled: only what came after it.
  const three = await postEvent(credentials, { type: 'email.received', user: s.person.id, data: { subject: 'Three' } });
  const resumed: HubEvent[] = [];
  const second = new AbortController();
  const again = followEvents({ issuer: s.hub.url, accessToken: hubToken, since: position, onEvent: (event) => void resumed.push(event), signal: second.signal });
  await eventually(async () => (resumed.length ? true : undefined));
  second.abort();
  await again;
  t.deepEqual(resumed.map((e) => [e.id, e.data.subject]), [[three, 'Three']]);

  const refused = await t.throwsAsync(postEvent(credentials, { type: 'game.won', user: s.person.id }), { instanceOf: HubError });
  t.is(refused.status, 400, 'game.* is not in the namespace of vezepyemail');
  await t.throwsAsync(followEvents({ issuer: s.hub.url, accessToken: 'not-a-token', onEvent: () => {} }), { instanceOf: HubError, message: /401/ });

  // The generated client, with the same person's hub token.
  const hub = createHubClient({ issuer: s.hub.url, accessToken: hubToken });
  const { data } = await hub.GET('/hub/activity', { params: { query: { service: 'vezepyemail' } } });
  t.true(data!.items.some((item) => item.id === three));
});

/** A local server speaking just enough of an event stream (and discovery) to watch a client reconnect. */
async function flakyStream(answer: (request: http.IncomingMessage, res: http.ServerResponse, index: number) => void) {
  const requests: http.IncomingMessage[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req);
    answer(req, res, requests.length - 1);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, requests, close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))) };
}

test('followEvents reconnects with backoff and Last-Event-ID after a cut, and stops when aborted', async (t) => {
  const envelope = (id: string) => JSON.stringify({ id, type: 'email.received', occurred_at: new Date().toISOString(), data: {} });
  const stream = await flakyStream((req, res, index) => {
    if (index === 1) return void res.writeHead(503).end();
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    if (index === 0) res.end(`retry: 50\n\nid: 1-0\nevent: ready\ndata: {}\n\nid: 2-0\nevent: email.received\r\ndata: ${envelope('a')}\r\n\r\n: keep-alive\n\n`);
    else res.write(`id: 2-0\nevent: ready\ndata: {}\n\nid: 3-0\nevent: email.received\ndata: ${envelope('b')}\n\n`);
  });
  t.teardown(() => stream.close());
  const seen: string[] = [];
  const reconnects: number[] = [];
  const controller = new AbortController();
  const following = followEvents({
    issuer: stream.url,
    accessToken: async () => 'token',
    since: '0-0',
    onEvent: (event) => void seen.push(event.id),
    onReconnect: ({ delayMs }) => void reconnects.push(delayMs),
    backoff: { initialMs: 10, maxMs: 100 },
    signal: controller.signal,
  });
  await eventually(async () => (seen.length === 2 ? true : undefined));
  controller.abort();
  t.is(await following, '3-0');
  t.deepEqual(seen, ['a', 'b']);
  t.deepEqual(stream.requests.map((r) => r.headers['last-event-id']), ['0-0', '2-0', '2-0']);
  t.true(stream.requests.every((r) => r.headers.authorization === 'Bearer token'));
  t.is(reconnects.length, 2);
  t.true(reconnects[0]! >= 50, 'the retry: the server asked for');
});

test('followEvents replaces a connection gone silent (no keep-alive) and resumes where it was', async (t) => {
  const stream = await flakyStream((_req, res, index) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    // The first connection says ready, then nothing at all: a peer that vanished without closing.
    res.write(index === 0 ? 'id: 5-0\nevent: ready\ndata: {}\n\n' : `id: 5-0\nevent: ready\ndata: {}\n\nid: 6-0\nevent: email.received\ndata: {"id":"c","type":"email.received","data":{}}\n\n`);
  });
  t.teardown(() => stream.close());
  const controller = new AbortController();
  const seen: string[] = [];
  const following = followEvents({
    issuer: stream.url,
    accessToken: 't',
    onEvent: (event) => void (seen.push(event.id), controller.abort()),
    idleTimeoutMs: 1000,
    backoff: { initialMs: 10 },
    signal: controller.signal,
  });
  t.is(await following, '6-0');
  t.deepEqual(seen, ['c']);
  // Replaced at least once, each time resuming after the ready position (a busy machine may replace more often).
  const resumedFrom = stream.requests.map((r) => r.headers['last-event-id']);
  t.is(resumedFrom[0], undefined);
  t.true(resumedFrom.length >= 2 && resumedFrom.slice(1).every((id) => id === '5-0'), String(resumedFrom));
});

test('followEvents stops on a revoked frame and passes a callback error on unchanged', async (t) => {
  const stream = await flakyStream((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.end('id: 1-0\nevent: ready\ndata: {}\n\nevent: revoked\ndata: {"reason":"ended"}\n\n');
  });
  t.teardown(() => stream.close());
  await t.throwsAsync(followEvents({ issuer: stream.url, accessToken: 't', onEvent: () => {} }), { name: 'StreamRevokedError' });
  await t.throwsAsync(followEvents({ issuer: stream.url, accessToken: 't', onEvent: () => {}, onReady: () => { throw new Error('mine'); } }), { message: 'mine' });
  t.is(stream.requests.length, 2, 'no reconnect after either');
});

test('exchangeToken sends an RFC 8693 token exchange to the token endpoint found by discovery', async (t) => {
  const bodies: Array<{ authorization: string | undefined; form: URLSearchParams }> = [];
  const server = await flakyStream((req, res) => {
    if (req.url === '/.well-known/openid-configuration') {
      const issuer = `http://${req.headers.host}`;
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ issuer, token_endpoint: `${issuer}/token`, jwks_uri: `${issuer}/jwks` }));
    }
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString()));
    req.on('end', () => {
      bodies.push({ authorization: req.headers.authorization, form: new URLSearchParams(text) });
      if (bodies.length === 1) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: 'exchanged', token_type: 'Bearer', expires_in: 300, issued_token_type: 'urn:ietf:params:oauth:token-type:access_token' }));
      } else {
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'invalid_target', error_description: 'no such resource' }));
      }
    });
  });
  t.teardown(() => server.close());
  const credentials = { issuer: server.url, clientId: 'vezepyemail web', clientSecret: 's3cr:t' };
  const answer = await exchangeToken(credentials, { subjectToken: 'person-token', resource: 'urn:veze:service:vezepysports', scope: 'read' });
  t.is(answer.access_token, 'exchanged');
  const [request] = bodies;
  t.deepEqual(Object.fromEntries(request!.form), {
    grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
    subject_token: 'person-token',
    subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    resource: 'urn:veze:service:vezepysports',
    scope: 'read',
  });
  t.is(request!.authorization, `Basic ${Buffer.from('vezepyemail+web:s3cr%3At').toString('base64')}`);
  const refused = await t.throwsAsync(exchangeToken(credentials, { subjectToken: 'x', resource: 'urn:veze:service:nobody' }), { instanceOf: HubError });
  t.is(refused.code, 'invalid_target');
  t.false(bodies[1]!.form.has('scope'));
});

