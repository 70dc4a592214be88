import http from 'node:http';
import test from 'ava';
import * as jose from 'jose';
import type { Hub } from '../../src/app/start.ts';
import { cliActor } from '../../src/audit/actors.ts';
import { setUpstream } from '../../src/catalog/service-exchange.ts';
import { setServiceRateLimits } from '../../src/catalog/service-rate-limits.ts';
import { grant, makePerson, makeService } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { personToken, serviceToken } from '../events/helpers.ts';
import { csrfTokenOf, signedInAgent } from '../portal/portal-helpers.ts';
import { closedPort, startUpstream } from './upstream.ts';
import { checkResponse } from '../api/openapi-check.ts';

const template = '/gateway/{slug}/{path}';

/** A GET sent as written, path and all (a URL would resolve its dot segments). */
function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(url);
  const path = url.replace(/^https?:\/\/[^/]+/, '');
  return new Promise((resolve, reject) => {
    const request = http.get({ hostname, port, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, text }));
    });
    request.on('error', reject);
  });
}

/** A hub with the service "notes" behind the gateway at `upstream`/base, and a person holding "pro" there with a hub token. */
async function world(t: Parameters<typeof startTestHub>[0], upstreamUrl: string, env: Record<string, string> = {}) {
  const hub = await startTestHub(t, { env });
  const notes = await makeService(hub, 'notes');
  await setUpstream(hub.db, 'notes', `${upstreamUrl}/base`, cliActor());
  const person = await makePerson(hub);
  await grant(hub, person.email, 'notes', 'pro');
  const token = await personToken(hub, person, 'notes');
  return { hub, notes, person, token };
}

async function problem(t: Parameters<typeof checkResponse>[0], response: Response, method = 'GET') {
  const body = (await response.json()) as Record<string, unknown>;
  checkResponse(t, template, method, { status: response.status, headers: response.headers, body });
  return body;
}

test.serial('the gateway forwards a person\'s request with a token made for the service, without the caller\'s cookies or hop-by-hop headers', async (t) => {
  const upstream = await startUpstream(t);
  const { hub, notes, person, token } = await world(t, upstream.url);

  const response = await new Promise<http.IncomingMessage & { text: string }>((resolve, reject) => {
    const request = http.request(`${hub.url}/gateway/notes/items/1?x=1&y=%20`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        cookie: 'portal=secret',
        'x-csrf-token': 'not-for-the-service',
        connection: 'keep-alive, x-hop',
        'x-hop': 'only for the next hop',
        'keep-alive': 'timeout=5',
        'proxy-authorization': 'Basic eDp5',
        'x-forwarded-for': '203.0.113.9',
        'x-kept': 'yes',
        'content-type': 'text/plain',
        'x-request-id': 'caller-request-0001',
      },
    });
    request.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve(Object.assign(res, { text })));
    });
    request.on('error', reject);
    request.end('hello service');
  });
  t.is(response.statusCode, 200, response.text);
  t.deepEqual(JSON.parse(response.text), { ok: true });

  const [seen] = upstream.received;
  t.truthy(seen);
  t.is(seen!.method, 'POST');
  t.is(seen!.url, '/base/items/1?x=1&y=%20');
  t.is(seen!.body.toString(), 'hello service');
  t.is(seen!.headers['x-kept'], 'yes');
  t.is(seen!.headers['content-type'], 'text/plain');
  for (const name of ['cookie', 'x-csrf-token', 'x-hop', 'keep-alive', 'proxy-authorization', 'x-forwarded-for']) t.is(seen!.headers[name], undefined, name);
  t.regex(String(seen!.headers.forwarded), /^for=127\.0\.0\.1;host="?127\.0\.0\.1:\d+"?;proto=http$/);
  t.is(seen!.headers['x-request-id'], 'caller-request-0001');
  t.is(response.headers['x-request-id'], 'caller-request-0001');

  const bearer = /^Bearer (.+)$/.exec(String(seen!.headers.authorization))?.[1];
  t.truthy(bearer);
  t.not(bearer, token);
  const { payload, protectedHeader } = await jose.jwtVerify(bearer!, jose.createRemoteJWKSet(new URL(`${hub.url}/jwks`)), { issuer: hub.url, audience: notes.resource, typ: 'at+jwt' });
  t.is(protectedHeader.alg, 'ES256');
  t.like(payload, { sub: person.id, act: { sub: `${hub.url}/gateway` } });
  t.deepEqual(payload.entitlements, ['pro']);

  // The upstream's cookies and hop-by-hop headers stay behind too; its status and other headers come through.
  upstream.answerWith((req, res) => {
    res.writeHead(201, {
      'set-cookie': 'svc=1; Path=/',
      'x-upstream': 'kept',
      connection: 'x-up-hop',
      'x-up-hop': 'gone',
      'content-type': 'text/plain',
      'access-control-allow-origin': 'https://evil.example',
      'access-control-allow-credentials': 'true',
      'content-security-policy': "script-src 'unsafe-inline'",
    });
    res.end('created');
  });
  const created = await fetch(`${hub.url}/gateway/notes/`, { headers: { authorization: `Bearer ${token}` } });
  t.is(created.status, 201);
  t.is(await created.text(), 'created');
  t.is(created.headers.get('set-cookie'), null);
  t.is(created.headers.get('x-up-hop'), null);
  t.is(created.headers.get('x-upstream'), 'kept');
  // Who may read it and what it may run are the hub's to say, not the service's: its answer comes from the hub's origin.
  t.is(created.headers.get('access-control-allow-origin'), null);
  t.is(created.headers.get('access-control-allow-credentials'), null);
  t.regex(created.headers.get('content-security-policy')!, /^sandbox; default-src 'none'/);
  t.is(created.headers.get('cache-control'), 'no-store');

  // A path that would climb out of the upstream's base is refused before anything is sent.
  // (Sent raw: fetch would resolve the dots itself.)
  const before = upstream.received.length;
  for (const path of ['/gateway/notes/a/%2e%2e/%2E%2e/admin', '/gateway/notes/a/../../admin', '/gateway/notes/a%2f..%2fadmin']) {
    const climbing = await rawGet(`${hub.url}${path}`, { authorization: `Bearer ${token}`, accept: 'application/json' });
    t.is(climbing.status, 400, path);
    t.is(JSON.parse(climbing.text).title, 'bad_request');
  }
  t.is(upstream.received.length, before);

  const metrics = await (await fetch(`${hub.url}/metrics`)).text();
  t.regex(metrics, /uniqverse_gateway_request_duration_seconds_count\{service="notes",outcome="ok"\} 2/);
});

test.serial('bodies stream both ways: the upstream reads the first part before the caller sends the rest, and the caller reads the first part of the answer before the upstream ends it', async (t) => {
  let firstPartArrived!: () => void;
  const arrived = new Promise<void>((resolve) => (firstPartArrived = resolve));
  let finishAnswer!: () => void;
  const finish = new Promise<void>((resolve) => (finishAnswer = resolve));
  const upstream = await startUpstream(t, async (req, res) => {
    t.is(req.headers['content-length'], undefined);
    res.writeHead(200, { 'content-type': 'text/plain' });
    let total = '';
    for await (const chunk of req) {
      total += String(chunk);
      if (total.startsWith('part one;')) firstPartArrived();
    }
    t.is(total, 'part one;part two');
    res.write('answer one;');
    await finish;
    res.end('answer two');
  });
  const { hub, token } = await world(t, upstream.url);

  let sendRest!: () => void;
  const rest = new Promise<void>((resolve) => (sendRest = resolve));
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      controller.enqueue(new TextEncoder().encode('part one;'));
      await rest;
      controller.enqueue(new TextEncoder().encode('part two'));
      controller.close();
    },
  });
  const pending = fetch(`${hub.url}/gateway/notes/upload`, { method: 'PUT', body, duplex: 'half', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain' } } as RequestInit);
  await arrived;
  sendRest();
  const response = await pending;
  t.is(response.status, 200);
  const reader = response.body!.getReader();
  const first = await reader.read();
  t.is(new TextDecoder().decode(first.value), 'answer one;');
  finishAnswer();
  let tail = '';
  for (let part = await reader.read(); !part.done; part = await reader.read()) tail += new TextDecoder().decode(part.value);
  t.is(tail, 'answer two');
});

test.serial('who may call: a person\'s hub token or the portal session (a POST with its CSRF token); not nobody, not a service, not a service off the gateway', async (t) => {
  const upstream = await startUpstream(t);
  const { hub, person } = await world(t, upstream.url);
  await makeService(hub, 'offline');

  const anonymous = await fetch(`${hub.url}/gateway/notes/x`);
  t.is(anonymous.status, 401);
  await problem(t, anonymous);
  const service = await fetch(`${hub.url}/gateway/notes/x`, { headers: { authorization: `Bearer ${await serviceToken(hub, 'notes')}` } });
  t.is(service.status, 403);
  t.is((await fetch(`${hub.url}/gateway/offline/x`)).status, 404);
  t.is((await fetch(`${hub.url}/gateway/nosuch/x`)).status, 404);

  const agent = await signedInAgent(hub, person);
  const read = await agent.request(`${hub.url}/gateway/notes/list`);
  t.is(read.status, 200);
  const noCsrf = await agent.request(`${hub.url}/gateway/notes/list`, { method: 'POST', body: 'x' });
  t.is(noCsrf.status, 403);
  const posted = await agent.request(`${hub.url}/gateway/notes/list`, { method: 'POST', body: 'x', headers: { 'x-csrf-token': await csrfTokenOf(agent, hub) } });
  t.is(posted.status, 200);
  t.is(upstream.received.length, 2);
  for (const seen of upstream.received) t.is(seen.headers.cookie, undefined);
  const { payload } = await jose.jwtVerify(String(upstream.received[1]!.headers.authorization).slice(7), jose.createRemoteJWKSet(new URL(`${hub.url}/jwks`)), { issuer: hub.url, audience: 'urn:veze:service:notes' });
  t.like(payload, { sub: person.id, client_id: 'uniqverse-portal', act: { sub: `${hub.url}/gateway` } });
});

async function get(hub: Hub, token: string, path = '/gateway/notes/x', init: RequestInit = {}) {
  return fetch(`${hub.url}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string>) } });
}

test.serial('failures: unreachable is 502, slow is 504, failures in a row open the circuit (503, Retry-After) and a probe after it closes it; bodies past the limit are 413', async (t) => {
  const upstream = await startUpstream(t);
  const { hub, token } = await world(t, upstream.url, { GATEWAY_TIMEOUT_SECONDS: '1', GATEWAY_BODY_LIMIT_KB: '16', GATEWAY_CIRCUIT_FAILURES: '2', GATEWAY_CIRCUIT_OPEN_SECONDS: '1' });

  // Over the body limit: by Content-Length at once, and a streamed body as it passes the limit.
  const big = await get(hub, token, '/gateway/notes/x', { method: 'POST', body: 'x'.repeat(17 * 1024) });
  t.is(big.status, 413);
  await problem(t, big, 'POST');
  const streamed = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < 20; i++) controller.enqueue(new Uint8Array(1024));
      controller.close();
    },
  });
  t.is((await get(hub, token, '/gateway/notes/x', { method: 'POST', body: streamed, duplex: 'half' } as RequestInit)).status, 413);
  t.is((await get(hub, token)).status, 200, 'the body limit is no failure of the upstream');

  // Slow: no answer within GATEWAY_TIMEOUT_SECONDS.
  upstream.answerWith((req, res) => void setTimeout(() => res.end('late'), 3000));
  const started = Date.now();
  const slow = await get(hub, token);
  t.is(slow.status, 504);
  t.true(Date.now() - started < 2500);
  await problem(t, slow);

  // That was one failure; a 5xx answer is the second: the circuit opens and the upstream is not called while it is.
  let calls = 0;
  upstream.answerWith((req, res) => {
    calls++;
    res.writeHead(500).end('broken');
  });
  t.is((await get(hub, token)).status, 500);
  const open = await get(hub, token);
  t.is(open.status, 503);
  t.truthy(open.headers.get('retry-after'));
  await problem(t, open);
  t.is(calls, 1);

  // After GATEWAY_CIRCUIT_OPEN_SECONDS one probe goes through; it succeeds and the circuit closes.
  upstream.answerWith((req, res) => {
    calls++;
    res.end('fine');
  });
  await new Promise((resolve) => setTimeout(resolve, 1100));
  t.is((await get(hub, token)).status, 200);
  t.is((await get(hub, token)).status, 200);
  t.is(calls, 3);

  // Unreachable: 502.
  await setUpstream(hub.db, 'notes', `http://127.0.0.1:${await closedPort()}`, cliActor());
  const down = await get(hub, token);
  t.is(down.status, 502);
  await problem(t, down);

  const metrics = await (await fetch(`${hub.url}/metrics`)).text();
  for (const outcome of ['too_large', 'timeout', 'upstream_error', 'circuit_open', 'unreachable']) t.regex(metrics, new RegExp(`uniqverse_gateway_request_duration_seconds_count\\{service="notes",outcome="${outcome}"\\} \\d`), outcome);
});

test.serial('the service\'s hub budget limits each person\'s requests through the gateway', async (t) => {
  const upstream = await startUpstream(t);
  const { hub, token } = await world(t, upstream.url);
  await setServiceRateLimits(hub.db, 'notes', { hub: 2 }, cliActor());
  t.is((await get(hub, token)).status, 200);
  t.is((await get(hub, token)).status, 200);
  const limited = await get(hub, token);
  t.is(limited.status, 429);
  t.truthy(limited.headers.get('retry-after'));
  await problem(t, limited);
  t.is(upstream.received.length, 2);
});

test.serial('a path that looks like another host stays a path of the service, at its own address', async (t) => {
  const upstream = await startUpstream(t);
  const { hub, token } = await world(t, upstream.url);
  // An upstream URL without a path of its own: "//host/…" after it must not become a host.
  await setUpstream(hub.db, 'notes', upstream.url, cliActor());
  const response = await get(hub, token, '/gateway/notes//198.51.100.7/steal?x=1');
  t.is(response.status, 200);
  t.deepEqual(upstream.received.map((r) => r.url), ['//198.51.100.7/steal?x=1']);
});
