import test from 'ava';
import { testRedisUrl } from '../helpers/backend.ts';
import { startTestHub } from '../helpers/hub.ts';
import { redisHop } from '../helpers/redis-hop.ts';

test('/healthz and /readyz answer, with the database checked', async (t) => {
  const hub = await startTestHub(t);
  const health = await fetch(`${hub.url}/healthz`);
  t.is(health.status, 200);
  t.deepEqual(await health.json(), { status: 'ok' });
  const ready = await fetch(`${hub.url}/readyz`);
  t.is(ready.status, 200);
  const body = (await ready.json()) as { status: string; checks: Record<string, string> };
  t.is(body.status, 'ok');
  t.is(body.checks.database, 'ok');
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
  t.deepEqual(((await up.json()) as { checks: Record<string, string> }).checks, { database: 'ok', redis: 'ok' });
  await hop.cut();
  const down = await fetch(`${hub.url}/readyz`);
  t.is(down.status, 503);
  const body = (await down.json()) as { status: string; checks: Record<string, string> };
  t.is(body.status, 'unavailable');
  t.is(body.checks.database, 'ok');
  t.not(body.checks.redis, 'ok');
});
