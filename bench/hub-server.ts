/**
 * Child process: the UniQVerse hub as it runs in production (Postgres + Redis), started with
 * startHub, with one person, one first-party service and one web client made through the same
 * domain functions the tests use. Says "ready" over IPC, closes on "stop".
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config/config.ts';
import { startHub } from '../src/hub.ts';
import { grant, makeClient, makePerson, makeService } from '../test/helpers/fixtures.ts';
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
  });
  const hub = await startHub(config);
  const person = await makePerson(hub);
  const service = await makeService(hub, 'bench', { firstParty: true });
  const client = await makeClient(hub, { service: service.slug, redirectUris: [benchCallback] });
  await grant(hub, person.email, service.slug, 'pro');

  // SQL statements sent so far, so the parent can tell how many one request costs.
  let queries = 0;
  hub.db.on('query', () => queries++);
  process.on('message', async (message) => {
    if (message === 'stats') return send({ type: 'stats', queries });
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
    },
  });
}

main().catch((error: unknown) => {
  send({ type: 'failed', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exit(1);
});
