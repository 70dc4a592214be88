import test from 'ava';
import WebSocket from 'ws';
import { makePerson, makeService } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { closeOnce } from '../helpers/oidc.ts';
import { personToken } from './helpers.ts';

async function setup(t: Parameters<typeof startTestHub>[0]) {
  const hub = closeOnce(await startTestHub(t));
  await makeService(hub, 'vezepyweb', { firstParty: true });
  const ada = await makePerson(hub, { name: 'Ada' });
  const token = await personToken(hub, ada, 'vezepyweb');
  return { hub, token };
}

test('SSE: when the hub stops, an open stream ends with a retry delay and an event telling the client to reconnect', async (t) => {
  const { hub, token } = await setup(t);
  const response = await fetch(`${hub.url}/hub/events`, { headers: { accept: 'text/event-stream', authorization: `Bearer ${token}` } });
  t.is(response.status, 200);
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  while (!text.includes('event: ready')) text += decoder.decode((await reader.read()).value, { stream: true });

  const closing = hub.close();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  await closing;
  const last = text.slice(text.lastIndexOf('retry:'));
  t.regex(last, /^retry: 1000\nevent: reconnect\ndata: (.*)\n\n$/);
  t.deepEqual(JSON.parse(/^data: (.*)$/m.exec(last)![1]!), { reason: 'The hub is restarting: reconnect with your last stream id.', retry_ms: 1000 });
});

test('WebSocket: when the hub stops, a client is told to reconnect and closed with 1012 (Service Restart)', async (t) => {
  const { hub, token } = await setup(t);
  const socket = new WebSocket(`${hub.url.replace(/^http/, 'ws')}/hub/events`, { headers: { authorization: `Bearer ${token}` } });
  const messages: Array<{ type: string; retry_ms?: number }> = [];
  socket.on('message', (data) => messages.push(JSON.parse(String(data))));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  while (!messages.some((m) => m.type === 'ready')) await new Promise((resolve) => setTimeout(resolve, 20));

  const started = Date.now();
  await hub.close();
  const { code, reason } = await closed;
  t.is(code, 1012);
  t.is(reason, 'service restart: reconnect');
  t.deepEqual(messages.at(-1), { type: 'reconnect', reason: 'The hub is restarting: reconnect with your last stream id.', retry_ms: 1000 });
  // The client answered the close frame: the hub did not wait out its grace for it.
  t.true(Date.now() - started < 4000, `closed in ${Date.now() - started} ms`);
});
