import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import type { Knex } from 'knex';
import { migrations } from '../../migrations/index.ts';
import { startHub, type Hub } from '../../src/app/start.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { loadConfig } from '../../src/platform/config.ts';
import { testDatabase, testRedisPrefix, testRedisUrl } from '../helpers/backend.ts';
import { startTestHub } from '../helpers/hub.ts';
import { redisHop } from '../helpers/redis-hop.ts';
import { machineRoutes } from '../../src/oidc/provider.ts';

test('/healthz and /readyz answer, with the database checked', async (t) => {
  const hub = await startTestHub(t);
  const health = await fetch(`${hub.url}/healthz`);
  t.is(health.status, 200);
  t.deepEqual(await health.json(), { status: 'ok' });
  const ready = await fetch(`${hub.url}/readyz`);
  t.is(ready.status, 200);
  const body = (await ready.json()) as { status: string; checks: Record<string, string> };
  t.is(body.status, 'ok');
  t.deepEqual(body.checks, { database: 'ok', migrations: 'ok', signing_keys: 'ok', ...(testRedisUrl ? { redis: 'ok' } : {}) });
});

/** A hub whose start replaces the migration step with `prepare` (the schema is migrated first, then changed). */
async function hubWithSchema(t: ExecutionContext, prepare: (db: Knex) => Promise<void>): Promise<Hub> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'uq-test-'));
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    UNIQVERSE_SECRET: randomBytes(32).toString('base64url'),
    ...(testRedisUrl ? { REDIS_URL: testRedisUrl, REDIS_PREFIX: testRedisPrefix() } : {}),
  });
  config.database = await testDatabase(t);
  const hub = await startHub(config, {
    migrate: async (db) => {
      await migrateToLatest(db);
      await prepare(db);
    },
  });
  t.teardown(async () => {
    await hub.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  return hub;
}

async function readiness(hub: Hub): Promise<{ status: number; checks: Record<string, string> }> {
  const answer = await fetch(`${hub.url}/readyz`);
  return { status: answer.status, checks: ((await answer.json()) as { checks: Record<string, string> }).checks };
}

test('/readyz answers 503 naming the migrations when a newer version migrated the database', async (t) => {
  const hub = await hubWithSchema(t, async (db) => {
    await db('knex_migrations').insert({ name: '999-from-a-newer-version', batch: 99, migration_time: new Date() });
  });
  const { status, checks } = await readiness(hub);
  t.is(status, 503);
  t.is(checks.database, 'ok');
  t.is(checks.signing_keys, 'ok');
  t.regex(checks.migrations!, /migrated by a newer version .*999-from-a-newer-version/);
});

test('/readyz answers 503 naming the migrations when one is not applied', async (t) => {
  const last = migrations.at(-1)![0];
  const hub = await hubWithSchema(t, async (db) => {
    await db('knex_migrations').where({ name: last }).delete();
  });
  const { status, checks } = await readiness(hub);
  t.is(status, 503);
  t.is(checks.migrations, `1 migration(s) not applied (${last}); run "uniqverse migrate" or restart the hub`);
});

test('/readyz answers 503 naming the signing keys when an alg has no active key, and 200 again once one signs', async (t) => {
  const hub = await startTestHub(t);
  t.is((await readiness(hub)).status, 200);
  // Every EdDSA key starts signing only tomorrow: the provider could sign no EdDSA token now.
  await hub.db('signing_keys').where({ alg: 'EdDSA' }).update({ activates_at: new Date(Date.now() + 86_400_000) });
  await hub.holder.refresh();
  const { status, checks } = await readiness(hub);
  t.is(status, 503);
  t.is(checks.database, 'ok');
  t.regex(checks.signing_keys!, /^no active signing key for EdDSA/);
  await hub.db('signing_keys').where({ alg: 'EdDSA' }).update({ activates_at: new Date(Date.now() - 1000) });
  await hub.holder.refresh();
  t.is((await readiness(hub)).status, 200);
});

test('every answer carries security headers and a request id; pages have a CSP without inline scripts', async (t) => {
  const hub = await startTestHub(t);
  const page = await fetch(`${hub.url}/no-such-page`);
  t.is(page.status, 404);
  t.is(page.headers.get('x-content-type-options'), 'nosniff');
  t.is(page.headers.get('x-frame-options'), 'DENY');
  t.truthy(page.headers.get('x-request-id'));
  const csp = page.headers.get('content-security-policy') ?? '';
  t.regex(csp, /script-src 'self'/);
  t.notRegex(csp, /unsafe-inline/);
});

const withRedis = testRedisUrl ? test : test.skip;

withRedis('/readyz checks Redis when REDIS_URL is set, and answers 503 naming it when Redis is gone', async (t) => {
  const hop = await redisHop(testRedisUrl!);
  t.teardown(() => hop.cut());
  const hub = await startTestHub(t, { env: { REDIS_URL: hop.url } });
  const up = await fetch(`${hub.url}/readyz`);
  t.is(up.status, 200);
  t.deepEqual(((await up.json()) as { checks: Record<string, string> }).checks, { database: 'ok', redis: 'ok', migrations: 'ok', signing_keys: 'ok' });
  await hop.cut();
  const down = await fetch(`${hub.url}/readyz`);
  t.is(down.status, 503);
  const body = (await down.json()) as { status: string; checks: Record<string, string> };
  t.is(body.status, 'unavailable');
  t.is(body.checks.database, 'ok');
  t.not(body.checks.redis, 'ok');
});

test('the provider\'s machine endpoints, answered past the outer app, carry the same security headers and keep a request id that looks like one', async (t) => {
  const hub = await startTestHub(t);
  const page = await fetch(`${hub.url}/no-such-page`);
  const expected = ['x-content-type-options', 'referrer-policy', 'x-frame-options', 'cross-origin-opener-policy', 'content-security-policy'];
  for (const path of Object.values(machineRoutes)) {
    const response = await fetch(`${hub.url}${path}`, { method: path === '/me' ? 'GET' : 'POST', headers: { 'x-request-id': 'proxy-id-1234' } });
    t.true(response.status >= 400 && response.status < 500, `${path}: ${response.status}`);
    for (const name of expected) t.is(response.headers.get(name), page.headers.get(name), `${path}: ${name}`);
    t.is(response.headers.get('x-request-id'), 'proxy-id-1234');
  }
  const made = await fetch(`${hub.url}/me?x=1`, { headers: { 'x-request-id': 'no good: spaces' } });
  t.regex(made.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
});

test('discovery and JWKS, answered from their cache past both apps, carry the same headers, and HEAD gets no body', async (t) => {
  const hub = await startTestHub(t);
  const page = await fetch(`${hub.url}/no-such-page`);
  const expected = ['x-content-type-options', 'referrer-policy', 'x-frame-options', 'cross-origin-opener-policy', 'content-security-policy'];
  for (const path of ['/.well-known/openid-configuration', '/jwks']) {
    const first = await fetch(`${hub.url}${path}`);
    const body = await first.text();
    const cached = await fetch(`${hub.url}${path}?ignored=1`, { headers: { 'x-request-id': 'proxy-id-5678' } });
    t.is(cached.status, 200);
    t.is(await cached.text(), body, `${path}: the cached body is the provider's`);
    for (const name of expected) t.is(cached.headers.get(name), page.headers.get(name), `${path}: ${name}`);
    t.is(cached.headers.get('x-request-id'), 'proxy-id-5678');
    t.is(cached.headers.get('access-control-allow-origin'), '*');
    t.regex(cached.headers.get('content-type') ?? '', /^application\/(json|jwk-set\+json)/);
    const head = await fetch(`${hub.url}${path}`, { method: 'HEAD' });
    t.is(head.status, 200);
    t.is(head.headers.get('content-length'), String(Buffer.byteLength(body)));
    t.is(await head.text(), '');
  }
});

test('the provider answers from the same cache when a request reaches it (not only the lane): 200, 304 and HEAD', async (t) => {
  const hub = await startTestHub(t);
  const server = createServer(hub.holder.current.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const direct = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  for (const path of ['/.well-known/openid-configuration', '/jwks']) {
    const filled = await fetch(`${direct}${path}`);
    const body = await filled.text();
    const etag = filled.headers.get('etag')!;
    t.truthy(etag);
    const cached = await fetch(`${direct}${path}`);
    t.is(cached.status, 200);
    t.is(await cached.text(), body);
    t.is(cached.headers.get('etag'), etag);
    t.is(cached.headers.get('access-control-allow-origin'), '*');
    t.is(cached.headers.get('content-type'), filled.headers.get('content-type'));
    t.is((await fetch(`${direct}${path}`, { headers: { 'if-none-match': etag } })).status, 304);
    const head = await fetch(`${direct}${path}`, { method: 'HEAD' });
    t.is(head.status, 200);
    t.is(head.headers.get('content-length'), String(Buffer.byteLength(body)));
  }
});
