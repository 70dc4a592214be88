import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { loadConfig } from '../../src/platform/config.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { startHub } from '../../src/app/start.ts';
import { testDatabase, testRedisPrefix, testRedisUrl } from '../helpers/backend.ts';
import { startTestHub } from '../helpers/hub.ts';
import { closeOnce, listeningPort } from '../helpers/oidc.ts';
import { freePort } from '../helpers/processes.ts';


/** Sends raw bytes; resolves with what came back once the server closes the socket or `ms` pass (`closed` false). */
function exchange(port: number, raw: string, ms = 3000): Promise<{ text: string; closed: boolean; refused: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    let refused = false;
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text, closed: false, refused });
    }, ms);
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
      // One whole answer with a body is enough: the caller only looks at it.
      const head = text.indexOf('\r\n\r\n');
      const length = Number(/content-length: (\d+)/i.exec(text)?.[1] ?? -1);
      if (head !== -1 && length >= 0 && Buffer.byteLength(text.slice(head + 4), 'latin1') >= length) socket.end();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => (refused = error.code === 'ECONNREFUSED' || error.code === 'ECONNRESET'));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closed: true, refused });
    });
    socket.write(raw);
  });
}

const timed = (url: string, init: RequestInit = {}) => fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(5000) });

test('a request that arrives while the hub starts gets 503 with Retry-After (never silence); /healthz says it lives, /readyz says when it is ready', async (t) => {
  const port = await freePort();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'uq-test-'));
  const config = loadConfig({
    PORT: String(port),
    HOST: '127.0.0.1',
    ISSUER: `http://127.0.0.1:${port}`,
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    UNIQVERSE_SECRET: randomBytes(32).toString('base64url'),
    ...(testRedisUrl ? { REDIS_URL: testRedisUrl, REDIS_PREFIX: testRedisPrefix() } : {}),
  });
  config.database = await testDatabase(t);
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let migrating!: () => void;
  const migrationStarted = new Promise<void>((resolve) => (migrating = resolve));
  // The start is held in its migration step: the hub listens, and is not ready.
  const starting = startHub(config, {
    migrate: async (db) => {
      migrating();
      await gate;
      await migrateToLatest(db);
    },
  });
  t.teardown(async () => {
    release();
    await (await starting.catch(() => null))?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  await migrationStarted;
  const url = `http://127.0.0.1:${port}`;

  const form = { 'content-type': 'application/x-www-form-urlencoded' };
  const probes: Array<[string, string, RequestInit?]> = [
    ['GET', '/readyz'],
    ['GET', '/.well-known/openid-configuration'],
    ['GET', '/jwks'],
    ['POST', '/token', { body: 'grant_type=client_credentials', headers: form }],
    ['POST', '/device', { body: 'user_code=BCDF-GHJK', headers: form }],
    ['GET', '/account'],
    ['GET', '/hub/events'],
    ['DELETE', '/nowhere'],
  ];
  for (const [method, where, init] of probes) {
    const answer = await timed(`${url}${where}`, { method, ...init });
    t.is(answer.status, 503, `${method} ${where}`);
    t.is(answer.headers.get('retry-after'), '5', `${method} ${where}`);
    t.is(answer.headers.get('x-content-type-options'), 'nosniff');
    t.regex(answer.headers.get('content-type') ?? '', /application\/problem\+json/);
    t.regex(await answer.text(), /starting/);
  }
  const live = await timed(`${url}/healthz`);
  t.is(live.status, 200, 'alive while starting, so a liveness probe lets it migrate');
  t.deepEqual(await live.json(), { status: 'starting' });
  // Over a raw socket too: a WebSocket upgrade and a bare HTTP/1.0 request are answered, not left open.
  const upgrade = await exchange(port, 'GET /hub/events HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
  t.regex(upgrade.text, /^HTTP\/1\.1 503 /);
  const bare = await exchange(port, 'GET / HTTP/1.0\r\n\r\n');
  t.regex(bare.text, /^HTTP\/1\.1 503 /);
  t.true(bare.closed);

  release();
  await starting;
  const ready = await timed(`${url}/readyz`);
  t.is(ready.status, 200);
  t.is((await timed(`${url}/.well-known/openid-configuration`)).status, 200);
});

test('while the hub closes, a request gets 503 with Retry-After or a closed connection, never a hang; close ends with a half-sent request open', async (t) => {
  const hub = closeOnce(await startTestHub(t));
  const port = listeningPort(hub);
  // A client that never finishes its request, and one idle on a keep-alive connection.
  const slow = net.connect(port, '127.0.0.1');
  slow.on('error', () => undefined);
  slow.resume();
  await new Promise((resolve) => slow.once('connect', resolve));
  slow.write('POST /device HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nuser_code=');
  const slowClosed = new Promise((resolve) => slow.once('close', resolve));
  // And one whose upgrade was refused, that never closes its own side: Node's server.close() waits
  // for it (closeAllConnections does not know upgraded sockets), so close() never ended.
  const lingering = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  lingering.on('error', () => undefined);
  lingering.write('GET /x HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
  lingering.resume();
  await new Promise((resolve) => lingering.once('end', resolve));

  const closing = hub.close();
  const during = await Promise.all(
    ['/healthz', '/readyz', '/account', '/token'].map((where) => exchange(port, `GET ${where} HTTP/1.1\r\nHost: x\r\n\r\n`)),
  );
  for (const answer of during) {
    t.true(answer.closed, 'answered or closed, not left open');
    if (answer.text) {
      t.regex(answer.text, /^HTTP\/1\.1 503 /);
      t.regex(answer.text, /retry-after: 5/i);
    }
  }
  const outcome = await Promise.race([closing.then(() => 'closed'), new Promise((resolve) => setTimeout(resolve, 15_000, 'hung'))]);
  t.is(outcome, 'closed');
  t.is(await Promise.race([slowClosed.then(() => 'closed'), new Promise((resolve) => setTimeout(resolve, 1000, 'open'))]), 'closed');
  lingering.destroy();
  const after = await exchange(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', 2000);
  t.true(after.refused || after.closed);
  t.is(after.text, '');
});

test('a request in flight when the hub starts closing is answered in full, not cut or told 503', async (t) => {
  const hub = closeOnce(await startTestHub(t));
  const port = listeningPort(hub);
  const body = 'grant_type=client_credentials&client_id=nobody&client_secret=wrong';
  // Once before, so the answer during the drain comes well within its 5 s on a loaded machine.
  const warm = await fetch(`${hub.url}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
  t.is(warm.status, 401);
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  let answer = '';
  socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
  const ended = new Promise((resolve) => socket.once('close', resolve));
  await new Promise((resolve) => socket.once('connect', resolve));
  // The headers and half the body arrive before the close; the rest while the hub drains.
  socket.write(`POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 20)}`);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const closing = hub.close();
  await new Promise((resolve) => setTimeout(resolve, 200));
  socket.write(body.slice(20));
  await Promise.race([ended, closing]);
  await closing;
  // The provider's own answer to that client: it was authenticated and refused, not turned away.
  t.regex(answer, /^HTTP\/1\.1 401 /);
  t.regex(answer, /invalid_client/);
  t.notRegex(answer, /retry-after/i);
});

