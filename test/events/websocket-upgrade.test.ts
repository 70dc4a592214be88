import net from 'node:net';
import test from 'ava';
import { startTestHub } from '../helpers/hub.ts';
import { listeningPort } from '../helpers/oidc.ts';
import { makePerson, makeService } from '../helpers/fixtures.ts';
import { personToken } from './helpers.ts';

/** Sends raw bytes and reads until the server closes the socket, or `ms` pass: then `closed` is false. */
function exchange(port: number, raw: string, ms = 5000): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text, closed: false });
    }, ms);
    socket.on('data', (chunk) => (text += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closed: true });
    });
    socket.write(raw);
  });
}

const upgrade = (path: string, extra = '') =>
  `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${extra}\r\n`;

test('an upgrade to any path but /hub/events is answered 404 and closed; a broken one is answered and closed too; the hub lives on', async (t) => {
  const hub = await startTestHub(t);
  const port = listeningPort(hub);
  for (const path of ['/x', '/hub/events/', '/Hub/Events', '/account', '/.well-known/openid-configuration?x=1', '//', '/\\', '*']) {
    const { text, closed } = await exchange(port, upgrade(path));
    t.true(closed, `${path}: the socket was left open`);
    t.regex(text, /^HTTP\/1\.1 404 /, path);
    t.regex(text, /application\/problem\+json/, path);
  }
  // Not a WebSocket upgrade (h2c, as curl --http2 asks), anywhere: answered, closed.
  const h2c = await exchange(port, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n');
  t.true(h2c.closed);
  t.regex(h2c.text, /^HTTP\/1\.1 4\d\d /);
  // The live path itself, with a handshake that is not one: 4xx and closed, never a hang.
  const broken = await exchange(port, 'GET /hub/events HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
  t.true(broken.closed);
  t.regex(broken.text, /^HTTP\/1\.1 4\d\d /);

  const alive = await fetch(`${hub.url}/healthz`);
  t.is(alive.status, 200, 'the hub still answers');
});

test('HEAD /hub/events (any spelling the router takes) is answered with the stream\'s headers and ended, not left open', async (t) => {
  const hub = await startTestHub(t);
  const person = await makePerson(hub);
  const service = await makeService(hub);
  const token = await personToken(hub, person, service.slug);
  for (const path of ['/hub/events', '/HUB/EVENTS', '/hub/events/']) {
    const answer = await fetch(`${hub.url}${path}`, { method: 'HEAD', headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(5000) });
    t.is(answer.status, 200, path);
    t.regex(answer.headers.get('content-type') ?? '', /text\/event-stream/);
  }
  const anonymous = await fetch(`${hub.url}/hub/events`, { method: 'HEAD', signal: AbortSignal.timeout(5000) });
  t.is(anonymous.status, 401);
});
