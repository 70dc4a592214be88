/**
 * Child process: the UniQVerse hub as it runs in production (Postgres + Redis), started with
 * startHub, with one person, one first-party service and one web client made through the same
 * domain functions the tests use. Says "ready" over IPC, closes on "stop".
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/platform/config.ts';
import { startHub } from '../src/app/start.ts';
import { grant, makeClient, makePerson, makeService } from '../test/helpers/fixtures.ts';
import { setServiceRateLimits } from '../src/catalog/service-rate-limits.ts';
import { benchCallback, type ChildMessage } from './target.ts';

const send = (message: ChildMessage) => process.send!(message);

async function main() {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'uq-bench-'));
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    UNIQVERSE_SECRET: randomBytes(32).toString('base64url'),
    DATABASE_URL: process.env.BENCH_DATABASE_URL,
    REDIS_URL: process.env.BENCH_REDIS_URL,
    REDIS_PREFIX: process.env.BENCH_REDIS_PREFIX,
    // The login storm stands for many people on many addresses: it names each one's address in
    // X-Forwarded-For, as a proxy in front of the hub would.
    TRUST_PROXY: 'true',
  });
  const hub = await startHub(config);
  const person = await makePerson(hub);
  const service = await makeService(hub, 'bench', { firstParty: true });
  // The bench measures the endpoints, not the per-client limit (600 a minute by default): its
  // service gets the highest limit there is, so every request is still counted, none refused.
  await setServiceRateLimits(hub.db, service.slug, { token: 1_000_000, hub: 1_000_000 }, { actorId: null, ip: null, userAgent: null, context: { via: 'bench' } });
  const client = await makeClient(hub, { service: service.slug, redirectUris: [benchCallback] });
  await grant(hub, person.email, service.slug, 'pro');
  const stormAccounts: Array<{ email: string; password: string }> = [];
  const wanted = Number(process.env.BENCH_STORM_ACCOUNTS ?? 0);
  while (stormAccounts.length < wanted) {
    const batch = await Promise.all(Array.from({ length: Math.min(8, wanted - stormAccounts.length) }, () => makePerson(hub)));
    stormAccounts.push(...batch.map(({ email, password }) => ({ email, password })));
  }

  // SQL statements sent so far, so the parent can tell how many one request costs.
  let queries = 0;
  const statements: Record<string, number> = {};
  hub.db.on('query', (query: { sql?: string }) => {
    queries++;
    const sql = (query.sql ?? '?').replace(/\s+/g, ' ').slice(0, 160);
    statements[sql] = (statements[sql] ?? 0) + 1;
  });
  // If the bench itself dies, do not outlive it.
  process.once('disconnect', () => process.exit(1));
  process.on('message', async (message) => {
    if (message === 'stats') return send({ type: 'stats', queries, statements });
    if (message !== 'stop') return;
    await hub.close();
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  });
  send({
    type: 'ready',
    target: {
      name: 'ours',
      url: hub.url,
      clientId: client.client_id,
      clientSecret: client.client_secret!,
      redirectUri: benchCallback,
      resource: service.resource,
      email: person.email,
      password: person.password,
      stormAccounts,
    },
  });
}

main().catch((error: unknown) => {
  send({ type: 'failed', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exit(1);
});
