import test from 'ava';
import { newPage } from '../helpers/browser.ts';
import { grant, makePerson, makeService } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { api, eventsSettled, eventually, personToken, SseClient, WsClient } from '../events/helpers.ts';
import { signedInAgent } from '../portal/portal-helpers.ts';
import { revokeDevice } from '../../src/devices/device-apps.ts';
import { checkResponse } from '../api/openapi-check.ts';

async function setup(t: Parameters<typeof startTestHub>[0]) {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepygame');
  await makeService(hub, 'vezepyweb', { firstParty: true });
  const ada = await makePerson(hub, { name: 'Ada' });
  const bob = await makePerson(hub, { name: 'Bob' });
  const token = await personToken(hub, ada, 'vezepyweb');
  await eventsSettled(hub);
  return { hub, ada, bob, token };
}

const ticketFor = async (hub: Awaited<ReturnType<typeof setup>>['hub'], token: string) => {
  const answer = await api(hub, '/hub/events/ticket', token, { method: 'POST' });
  if (answer.status !== 200) throw new Error(`ticket answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return answer.body as { ticket: string; expires_in: number };
};

test('a ticket opens one EventSource or WebSocket for 30 s, once; the stream it opens ends with its token\'s grant', async (t) => {
  const { hub, ada, token } = await setup(t);
  const answer = await api(hub, '/hub/events/ticket', token, { method: 'POST' });
  checkResponse(t, '/hub/events/ticket', 'POST', answer);
  t.is(answer.headers.get('cache-control'), 'no-store');
  const issued = answer.body as { ticket: string; expires_in: number };
  t.true(issued.expires_in > 25 && issued.expires_in <= 30);
  t.regex(issued.ticket, /^[\w-]{43}$/);
  t.false(issued.ticket.includes(token.slice(0, 20)), 'nothing of the token in it');
  const stored = await hub.db('live_tickets').first();
  t.not(stored.ticket_hash, issued.ticket, 'stored as a hash');

  const sse = await SseClient.open(`${hub.url}/hub/events?ticket=${issued.ticket}`);
  t.is(sse.status, 200);
  t.teardown(() => sse.close());
  await sse.waitFor((m) => m.event === 'ready');
  await grant(hub, ada.email, 'vezepygame', 'pro');
  await sse.waitForEvent('entitlement.granted', (d) => d.tier === 'pro');

  // Once only, on any transport.
  const twice = await SseClient.open(`${hub.url}/hub/events?ticket=${issued.ticket}`);
  t.is(twice.status, 401);
  t.regex(twice.errorBody, /unknown, used or expired/);
  const wsTwice = await t.throwsAsync(WsClient.open(`${hub.url}/hub/events?ticket=${issued.ticket}`));
  t.is((wsTwice as Error & { status?: number }).status, 401);

  // A WebSocket with a ticket of its own.
  const ws = await WsClient.open(`${hub.url}/hub/events?ticket=${(await ticketFor(hub, token)).ticket}`);
  t.teardown(() => ws.close());
  await eventually(() => ws.messages.find((m) => m.type === 'ready'), 10_000, 'ws ready');

  // Expired before use: refused.
  const late = await ticketFor(hub, token);
  await hub.db('live_tickets').update({ expires_at: new Date(Date.now() - 1000) });
  t.is((await SseClient.open(`${hub.url}/hub/events?ticket=${late.ticket}`)).status, 401);
  t.is((await SseClient.open(`${hub.url}/hub/events?ticket=not-a-ticket`)).status, 401);

  // No token, a cookie, or a token and a ticket together: refused with a reason.
  t.is((await api(hub, '/hub/events/ticket', '', { method: 'POST' })).status, 401);
  const agent = await signedInAgent(hub, ada);
  const byCookie = await fetch(`${hub.url}/hub/events/ticket`, { method: 'POST', headers: { cookie: agent.cookieHeader() } });
  t.is(byCookie.status, 401);
  const both = await SseClient.open(`${hub.url}/hub/events?ticket=${(await ticketFor(hub, token)).ticket}`, { authorization: `Bearer ${token}` });
  t.is(both.status, 400);

  // The grant ends (the device app signs itself out): streams opened with its tickets close.
  const device = await api(hub, '/hub/devices', token, { method: 'POST', body: JSON.stringify({ kind: 'browser_extension', os: 'Chromium 131', app_version: '1.0' }) });
  t.is((await api(hub, `/hub/devices/${device.body.id}`, token, { method: 'DELETE' })).status, 204);
  await eventually(() => sse.closed && ws.closed, 10_000, 'both streams to close');
  t.truthy(sse.messages.find((m) => m.event === 'revoked'));
  t.true(ws.messages.some((m) => m.type === 'revoked'));
  t.is((await api(hub, '/hub/events/ticket', token, { method: 'POST' })).status, 401, 'no new ticket for a revoked token');
});

test('in Chromium: EventSource and WebSocket open with a ticket, never with the token in the URL', async (t) => {
  const { hub, ada, token } = await setup(t);
  const { page } = await newPage(t);
  const urls: string[] = [];
  page.on('request', (request) => urls.push(request.url()));
  page.on('websocket', (socket) => urls.push(socket.url()));
  await page.goto(`${hub.url}/healthz`);
  const sseTicket = (await ticketFor(hub, token)).ticket;
  const wsTicket = (await ticketFor(hub, token)).ticket;
  const opened = page.evaluate(
    ([sse, ws]) =>
      new Promise<{ ready: string; event: string; wsReady: string }>((resolve, reject) => {
        const source = new EventSource(`/hub/events?ticket=${sse}`);
        const socket = new WebSocket(`${location.origin.replace(/^http/, 'ws')}/hub/events?ticket=${ws}`);
        const got: Record<string, string> = {};
        const done = () => {
          if (got.ready && got.event && got.wsReady) {
            source.close();
            socket.close();
            resolve(got as { ready: string; event: string; wsReady: string });
          }
        };
        source.addEventListener('ready', (e) => {
          got.ready = (e as MessageEvent).data;
          done();
        });
        source.addEventListener('entitlement.granted', (e) => {
          got.event = (e as MessageEvent).data;
          done();
        });
        source.onerror = () => reject(new Error('EventSource failed'));
        socket.onmessage = (m) => {
          if (JSON.parse(String(m.data)).type !== 'ready') return;
          got.wsReady = String(m.data);
          done();
        };
      }),
    [sseTicket, wsTicket],
  );
  await eventually(() => hub.events.live.connectionCount === 2, 10_000, 'both connections');
  await grant(hub, ada.email, 'vezepygame', 'pro');
  const got = await opened;
  t.like(JSON.parse(got.event), { type: 'entitlement.granted', user_id: ada.id });
  t.truthy(JSON.parse(got.wsReady).stream_id);
  t.false(urls.some((url) => url.includes(token.slice(-20))), 'the token never appears in a URL');
});

test('long-poll: at once with what was missed, else the first events within wait, else none; same privacy and revocation as the stream', async (t) => {
  const { hub, ada, bob, token } = await setup(t);
  const poll = async (query: string, bearer = token) => {
    const answer = await api(hub, `/hub/events/poll${query}`, bearer);
    checkResponse(t, '/hub/events/poll', 'GET', answer);
    return answer;
  };

  // No position: waits, and answers none with the position to resume from.
  const started = Date.now();
  const empty = await poll('?wait=1');
  t.is(empty.status, 200);
  t.deepEqual(empty.body.events, []);
  t.false(empty.body.resync);
  t.truthy(empty.body.next);
  t.true(Date.now() - started >= 900);

  // An event arriving while it waits ends the wait; Bob's never reach Ada.
  const waiting = poll(`?since=${empty.body.next}&wait=25`);
  await new Promise((resolve) => setTimeout(resolve, 300));
  await grant(hub, bob.email, 'vezepygame', 'bob-tier');
  await grant(hub, ada.email, 'vezepygame', 'pro');
  const quick = Date.now();
  const got = await waiting;
  t.true(Date.now() - quick < 10_000);
  t.is(got.status, 200);
  t.deepEqual(got.body.events.map((e: { event: { type: string; user_id: string } }) => [e.event.type, e.event.user_id]), [['entitlement.granted', ada.id]]);
  t.is(got.body.next, got.body.events.at(-1).stream_id);

  // Missed while away: answered at once, in order, from where it left off.
  await grant(hub, ada.email, 'vezepygame', 'max');
  await grant(hub, bob.email, 'vezepygame', 'bob-max');
  await eventsSettled(hub);
  const missed = await poll(`?since=${got.body.next}&wait=25`);
  t.deepEqual(missed.body.events.map((e: { event: { data: { tier: string } } }) => e.event.data.tier), ['max']);
  const idle = await poll(`?since=${missed.body.next}&wait=1`);
  t.deepEqual(idle.body.events, []);
  t.truthy(idle.body.next);

  // With a ticket, as a browser-based watch face would.
  const byTicket = await fetch(`${hub.url}/hub/events/poll?since=${empty.body.next}&wait=0&ticket=${(await ticketFor(hub, token)).ticket}`);
  t.is(byTicket.status, 200);
  t.is(((await byTicket.json()) as { events: unknown[] }).events.length, 2);

  // Bad input: 400 with the reason.
  t.is((await poll('?wait=99')).status, 400);
  t.regex((await poll('?wait=soon')).body.detail, /wait is a whole number/);
  t.is((await poll('?since=yesterday')).status, 400);

  // The device is removed while a poll waits: the poll ends at once (with the device.revoked
  // event, or 401 when the grant was read again first), and every poll after is 401.
  const device = await api(hub, '/hub/devices', token, { method: 'POST', body: JSON.stringify({ kind: 'watch', os: 'Wear OS 5', app_version: '1.0' }) });
  await eventsSettled(hub);
  const open = poll(`?wait=25`);
  await eventually(() => hub.events.live.connectionCount === 1, 10_000, 'the poll to wait');
  const removedAt = Date.now();
  await revokeDevice(hub.db, ada.id, device.body.id);
  const cut = await open;
  t.true(Date.now() - removedAt < 10_000);
  if (cut.status === 200) t.deepEqual(cut.body.events.map((e: { event: { type: string } }) => e.event.type), ['device.revoked']);
  else {
    t.is(cut.status, 401);
    t.regex(cut.headers.get('www-authenticate') ?? '', /invalid_token/);
  }
  const after = await poll('?wait=0');
  t.is(after.status, 401);
  t.regex(after.headers.get('www-authenticate') ?? '', /invalid_token/);
  t.is(hub.events.live.connectionCount, 0);
});
