import test from 'ava';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/platform/config.ts';

const tempDir = () => mkdtempSync(path.join(tmpdir(), 'uq-config-'));

test('defaults: port 3000, issuer from the port, embedded PGlite in DATA_DIR, in-process bus', (t) => {
  const dir = tempDir();
  const config = loadConfig({ DATA_DIR: dir });
  t.is(config.port, 3000);
  t.is(config.issuer, 'http://localhost:3000');
  t.deepEqual(config.database, { kind: 'pglite', dir: path.join(dir, 'pglite') });
  t.is(config.redisUrl, null);
  t.false(config.production);
});

test('a generated development secret is kept in DATA_DIR and reused, with a warning', (t) => {
  const dir = tempDir();
  const first = loadConfig({ DATA_DIR: dir });
  const second = loadConfig({ DATA_DIR: dir });
  t.is(first.secret, second.secret);
  t.is(readFileSync(path.join(dir, 'secret'), 'utf8'), first.secret);
  t.true(first.warnings.some((w) => w.includes('UNIQVERSE_SECRET')));
});

test('production requires UNIQVERSE_SECRET, and the message names it', (t) => {
  const error = t.throws(() => loadConfig({ NODE_ENV: 'production', DATA_DIR: tempDir() }), { instanceOf: ConfigError });
  t.regex(error!.message, /UNIQVERSE_SECRET/);
});

test('bad values stop the start with a message naming each variable', (t) => {
  const error = t.throws(() => loadConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://x', REDIS_URL: 'http://x', LOG_LEVEL: 'loud', UNIQVERSE_SECRET: 'short' }), { instanceOf: ConfigError });
  for (const name of ['PORT', 'DATABASE_URL', 'REDIS_URL', 'LOG_LEVEL', 'UNIQVERSE_SECRET']) t.regex(error!.message, new RegExp(name));
});

test('secrets can come from NAME_FILE, and ISSUER loses its trailing slash', (t) => {
  const dir = tempDir();
  const file = path.join(dir, 'secret.txt');
  writeFileSync(file, `${'s'.repeat(40)}\n`);
  const config = loadConfig({ UNIQVERSE_SECRET_FILE: file, ISSUER: 'https://id.veze.example/', DATA_DIR: dir, DATABASE_URL: 'postgres://u@h/db', REDIS_URL: 'redis://127.0.0.1:6379' });
  t.is(config.secret, 's'.repeat(40));
  t.is(config.issuer, 'https://id.veze.example');
  t.deepEqual(config.database, { kind: 'postgres', url: 'postgres://u@h/db', queryTimeoutMs: 30_000, poolMax: 10 });
  t.is(config.redisUrl, 'redis://127.0.0.1:6379');
});

test('DATABASE_TIMEOUT_SECONDS bounds the wait on PostgreSQL; 0 waits for ever, a negative value is refused', (t) => {
  const base = { UNIQVERSE_SECRET: 'x'.repeat(32), DATA_DIR: tempDir(), DATABASE_URL: 'postgres://u@h/db' };
  t.deepEqual(loadConfig({ ...base, DATABASE_TIMEOUT_SECONDS: '2.5' }).database, { kind: 'postgres', url: 'postgres://u@h/db', queryTimeoutMs: 2_500, poolMax: 10 });
  t.deepEqual(loadConfig({ ...base, DATABASE_TIMEOUT_SECONDS: '0' }).database, { kind: 'postgres', url: 'postgres://u@h/db', queryTimeoutMs: 0, poolMax: 10 });
  t.throws(() => loadConfig({ ...base, DATABASE_TIMEOUT_SECONDS: '-1' }), { instanceOf: ConfigError, message: /DATABASE_TIMEOUT_SECONDS/ });
});

test('data residency: each region a database of its own beside DATABASE_URL; DEFAULT_REGION one of them; off when none is set', (t) => {
  const base = { UNIQVERSE_SECRET: 'x'.repeat(32), DATA_DIR: tempDir(), DATABASE_URL: 'postgres://u@h/dir' };
  const off = loadConfig(base);
  t.deepEqual(off.regions, []);
  t.is(off.defaultRegion, null);
  const on = loadConfig({ ...base, DATABASE_URL_US: 'postgres://u@h/us', DATABASE_URL_IN: 'postgres://u@h/in', DATABASE_POOL_MAX: '4' });
  t.deepEqual(on.regions.map((r) => [r.region, r.database]), [['us', { kind: 'postgres', url: 'postgres://u@h/us', queryTimeoutMs: 30_000, poolMax: 4 }], ['in', { kind: 'postgres', url: 'postgres://u@h/in', queryTimeoutMs: 30_000, poolMax: 4 }]]);
  t.is(on.defaultRegion, 'us', 'the first region set, in the order eu, us, in');
  t.is(loadConfig({ ...base, DATABASE_URL_US: 'postgres://u@h/us', DATABASE_URL_IN: 'postgres://u@h/in', DEFAULT_REGION: 'in' }).defaultRegion, 'in');
  t.throws(() => loadConfig({ ...base, DATABASE_URL_US: 'postgres://u@h/us', DEFAULT_REGION: 'eu' }), { instanceOf: ConfigError, message: /DEFAULT_REGION: eu has no database/ });
  t.throws(() => loadConfig({ ...base, DATABASE_URL_EU: 'postgres://u@h/dir' }), { instanceOf: ConfigError, message: /a database of its own/ });
  t.throws(() => loadConfig({ UNIQVERSE_SECRET: 'x'.repeat(32), DATA_DIR: tempDir(), DATABASE_URL_EU: 'postgres://u@h/eu' }), { instanceOf: ConfigError, message: /need DATABASE_URL/ });
  t.throws(() => loadConfig({ ...base, DATABASE_URL_EU: 'mysql://u@h/eu' }), { instanceOf: ConfigError, message: /DATABASE_URL_EU/ });
});

test('an unreadable NAME_FILE is a clear error', (t) => {
  const error = t.throws(() => loadConfig({ UNIQVERSE_SECRET_FILE: '/nonexistent/secret' }), { instanceOf: ConfigError });
  t.regex(error!.message, /UNIQVERSE_SECRET_FILE/);
});
