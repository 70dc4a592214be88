import { readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { loadConfig, settings } from '../../src/platform/config.ts';
import { projectRoot } from '../../src/platform/views.ts';

const docs = readFileSync(path.join(projectRoot, 'docs/configuration.md'), 'utf8');

test('docs/configuration.md has a section for every setting the hub reads', (t) => {
  const documented = [...docs.matchAll(/^### `([A-Z_]+)`$/gm)].map((m) => m[1]);
  t.deepEqual([...documented].sort(), Object.keys(settings).sort());
});

test('the defaults docs/configuration.md states are the ones loadConfig applies', (t) => {
  const config = loadConfig({ UNIQVERSE_SECRET: 'x'.repeat(32) });
  const stated = (name: string) => new RegExp(`### \`${name}\`\\n[^#]*?Default \\*\\*\`?([^*\`]+)\`?\\*\\*`).exec(docs)?.[1];
  t.is(stated('PORT'), String(config.port));
  t.is(stated('HOST'), config.host);
  t.is(stated('ISSUER'), 'http://localhost:$PORT');
  t.is(config.issuer, `http://localhost:${config.port}`);
  t.is(path.resolve(stated('DATA_DIR')!), config.dataDir);
  t.is(stated('REDIS_PREFIX'), config.redisPrefix);
  t.is(stated('KEY_REFRESH_SECONDS'), String(config.keyRefreshSeconds));
  t.is(stated('MAIL_FROM'), config.mailFrom);
  t.is(stated('LOG_LEVEL'), config.logLevel);
  t.is(stated('EVENT_STREAM_LENGTH'), String(config.eventStreamLength));
  t.is(stated('WEBHOOK_TIMEOUT_SECONDS'), String(config.webhookTimeoutSeconds));
  t.is(stated('ENTITLEMENT_EXPIRY_SWEEP_SECONDS'), String(config.entitlementExpirySweepSeconds));
  t.is(stated('LIVE_MAX_PER_PERSON'), String(config.live.maxPerPerson));
  t.is(stated('LIVE_MAX_PER_ADDRESS'), String(config.live.maxPerAddress));
  t.is(stated('LIVE_REPLAY_MAX_EVENTS'), String(config.live.replayMaxEvents));
  t.is(stated('LIVE_REPLAY_MAX_MINUTES'), String(config.live.replayMaxMinutes));
  t.is(stated('TRUST_PROXY'), String(config.trustProxy));
  const onPostgres = loadConfig({ UNIQVERSE_SECRET: 'x'.repeat(32), DATABASE_URL: 'postgres://u@h/db' }).database;
  t.is(stated('DATABASE_TIMEOUT_SECONDS'), String(onPostgres.kind === 'postgres' ? onPostgres.queryTimeoutMs! / 1000 : null));
});
