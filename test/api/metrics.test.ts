import { networkInterfaces } from 'node:os';
import test from 'ava';
import { ConfigError, loadConfig } from '../../src/platform/config.ts';
import { isLoopback } from '../../src/web/api/metrics-access.ts';
import { startTestHub } from '../helpers/hub.ts';

const token = 'metrics-token-0123456789abcdef';

const scrape = (url: string, headers: Record<string, string> = {}) => fetch(url, { headers });

test('with METRICS_TOKEN, /metrics needs it as a bearer token: missing or wrong gets 401 and a challenge', async (t) => {
  const hub = await startTestHub(t, { env: { METRICS_TOKEN: token } });
  const url = `${hub.url}/metrics`;

  const right = await scrape(url, { authorization: `Bearer ${token}` });
  t.is(right.status, 200);
  t.regex(await right.text(), /^uniqverse_event_relay_lag_seconds \d/m);

  const missing = await scrape(url);
  t.is(missing.status, 401, 'a token is needed even from this machine');
  t.is(missing.headers.get('www-authenticate'), 'Bearer realm="metrics"');
  t.is(missing.headers.get('content-type'), 'application/problem+json');
  t.notRegex(await missing.text(), /uniqverse_/);

  for (const authorization of [`Bearer ${token.slice(0, -1)}x`, `Bearer ${token}x`, 'Bearer short', `bearer ${token.toUpperCase()}`]) {
    const wrong = await scrape(url, { authorization });
    t.is(wrong.status, 401, authorization);
    t.is(wrong.headers.get('www-authenticate'), 'Bearer realm="metrics", error="invalid_token"');
  }
  const basic = await scrape(url, { authorization: `Basic ${Buffer.from(`x:${token}`).toString('base64')}` });
  t.is(basic.status, 401, 'only the bearer scheme');
  t.is((await scrape(url, { authorization: `bearer ${token}` })).status, 200, 'the scheme is case-insensitive');
});

test('without METRICS_TOKEN, /metrics answers this machine only (by the connection, not a header), 403 elsewhere', async (t) => {
  // Every interface, IPv6 and IPv4 (dual stack): the addresses of this machine can reach it.
  const hub = await startTestHub(t, { env: { HOST: '::' } });
  const port = new URL(hub.url).port;

  t.is((await scrape(`http://127.0.0.1:${port}/metrics`)).status, 200);
  t.is((await scrape(`http://[::1]:${port}/metrics`)).status, 200);
  const proxied = await scrape(`http://127.0.0.1:${port}/metrics`, { 'x-forwarded-for': '203.0.113.7' });
  t.is(proxied.status, 403, 'a proxy on this machine forwards other people\'s requests');
  t.is(proxied.headers.get('content-type'), 'application/problem+json');
  t.is((await scrape(`http://127.0.0.1:${port}/metrics`, { forwarded: 'for=203.0.113.7' })).status, 403);

  const external = Object.values(networkInterfaces()).flat().find((a) => a && !a.internal && a.family === 'IPv4');
  if (!external) return t.log('no non-loopback IPv4 address on this machine: the remote case is not exercised');
  const remote = await scrape(`http://${external.address}:${port}/metrics`);
  t.is(remote.status, 403);
  t.notRegex(await remote.text(), /uniqverse_/);
});

test('loopback is 127.0.0.0/8 and ::1, also IPv4-mapped; nothing else', (t) => {
  for (const address of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) t.true(isLoopback(address), address);
  for (const address of [undefined, '', '10.0.0.1', '::ffff:192.0.2.2', 'fd00::2', '::', '0.0.0.0', '127.0.0.1.example']) t.false(isLoopback(address), String(address));
});

test('METRICS_TOKEN: checked at start; its absence in production is a warning', (t) => {
  const secret = 'x'.repeat(32);
  const warned = (env: Record<string, string>) => loadConfig({ UNIQVERSE_SECRET: secret, DATABASE_URL: 'postgres://db/hub', ...env }).warnings.some((w) => w.startsWith('METRICS_TOKEN'));
  t.true(warned({ NODE_ENV: 'production' }));
  t.false(warned({ NODE_ENV: 'production', METRICS_TOKEN: token }));
  t.false(warned({}), 'not in development');
  t.is(loadConfig({ UNIQVERSE_SECRET: secret, METRICS_TOKEN: token }).metricsToken, token);
  t.is(loadConfig({ UNIQVERSE_SECRET: secret }).metricsToken, null);
  t.throws(() => loadConfig({ UNIQVERSE_SECRET: secret, METRICS_TOKEN: 'short' }), { instanceOf: ConfigError, message: /METRICS_TOKEN: must be at least 16 characters/ });
  t.throws(() => loadConfig({ UNIQVERSE_SECRET: secret, METRICS_TOKEN: 'has a space in it, long enough' }), { instanceOf: ConfigError, message: /METRICS_TOKEN/ });
});
