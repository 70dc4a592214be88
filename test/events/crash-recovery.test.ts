import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import type { DatabaseTarget } from '../../src/platform/config.ts';
import { createSecretBox } from '../../src/platform/crypto/secret-box.ts';
import { openDatabase } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { createWebhook, webhookSecretPurpose } from '../../src/events/webhooks.ts';
import { createClient } from '../../src/catalog/clients.ts';
import { grantEntitlement } from '../../src/catalog/entitlements.ts';
import { createService } from '../../src/catalog/services.ts';
import { userQueries } from '../../src/queries/users.ts';
import { testDatabase, testRedisPrefix, testRedisUrl } from '../helpers/backend.ts';
import { eventually, webhookReceiver } from './helpers.ts';

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'hub-process.ts');

function startChild(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const ready = /READY (\S+)/.exec(output);
      if (ready) resolve({ child, url: ready[1]! });
    });
    child.once('exit', (code) => reject(new Error(`hub process exited with ${code} before it was ready`)));
  });
}

async function clientCredentials(url: string, client: { client_id: string; client_secret?: string }): Promise<string> {
  const response = await fetch(`${url}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource: `${url}/hub`, scope: 'events' }),
  });
  if (response.status !== 200) throw new Error(`token endpoint answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { access_token: string }).access_token;
}

test('kill -9 of the hub in the middle of 1,000 changes: after a restart every event is delivered, none applied twice', async (t) => {
  // Two hub start-ups and 1,000 posts: minutes on a busy two-core machine.
  t.timeout(600_000);
  const dataDir = mkdtempSync(path.join(tmpdir(), 'uq-crash-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const secret = randomBytes(32).toString('base64url');
  const target: DatabaseTarget = process.env.TEST_DATABASE_URL ? await testDatabase(t) : { kind: 'pglite', dir: path.join(dataDir, 'pglite') };

  // The idempotent consumer: a webhook receiver that applies each event id once.
  const applied = new Map<string, number>();
  let duplicates = 0;
  const receiver = await webhookReceiver((request) => {
    const id = String(request.headers['webhook-id']);
    if (applied.has(id)) duplicates++;
    else applied.set(id, JSON.parse(request.body).data.n);
    return 204;
  });
  t.teardown(() => receiver.close());

  // Set-up straight in the database, before the hub process owns it.
  const setup = await openDatabase(target);
  await migrateToLatest(setup.db);
  await createService(setup.db, { slug: 'vezepygame', name: 'VEZEPyGame' });
  const client = await createClient(setup.db, createSecretBox(secret, 'client-secrets'), async () => undefined, { service: 'vezepygame', type: 'web', redirectUris: ['http://127.0.0.1:9/cb'] });
  const people: string[] = [];
  for (let i = 0; i < 10; i++) {
    // Players never sign in here: no password, so no slow hashing.
    const user = await userQueries.insert(setup.db, { email: `player${i}@example.test`, name: `Player ${i}`, password_hash: null, is_admin: false, email_verified: true });
    await grantEntitlement(setup.db, { email: user.email, service: 'vezepygame', tier: 'basic' });
    people.push(user.id);
  }
  await createWebhook(setup.db, createSecretBox(secret, webhookSecretPurpose), { service: 'vezepygame', url: receiver.url, events: ['game.*'] });
  await setup.close();

  const env: Record<string, string> = {
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    UNIQVERSE_SECRET: secret,
    LOG_LEVEL: 'error',
    ...(target.kind === 'postgres' ? { DATABASE_URL: target.url } : {}),
    ...(testRedisUrl ? { REDIS_URL: testRedisUrl, REDIS_PREFIX: testRedisPrefix() } : {}),
  };
  const changes = Array.from({ length: 1000 }, (_, n) => ({ id: randomUUID(), type: 'game.score.changed', user: people[n % people.length]!, data: { n } }));
  const acknowledged = new Set<string>();

  async function postAll(url: string, token: string, stopAfter: number | null, onStop: () => void) {
    let next = 0;
    let stopped = false;
    const worker = async () => {
      while (next < changes.length && !stopped) {
        const change = changes[next++]!;
        if (acknowledged.has(change.id)) continue;
        try {
          const response = await fetch(`${url}/api/v1/events`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify(change),
          });
          if (response.status === 202) acknowledged.add(change.id);
          else throw new Error(`POST answered ${response.status}: ${await response.text()}`);
        } catch (error) {
          if (stopAfter === null) throw error;
          stopped = true; // the hub is gone
        }
        if (stopAfter !== null && acknowledged.size >= stopAfter && !stopped) {
          stopped = true;
          onStop();
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
  }

  const first = await startChild(env);
  t.teardown(() => void first.child.kill('SIGKILL'));
  const exited = new Promise((resolve) => first.child.once('exit', resolve));
  await postAll(first.url, await clientCredentials(first.url, client), 400, () => first.child.kill('SIGKILL'));
  await exited;
  const beforeCrash = acknowledged.size;
  t.log(`acknowledged before kill -9: ${beforeCrash}; delivered by then: ${applied.size}`);
  t.true(beforeCrash >= 400 && beforeCrash < 1000);

  const second = await startChild(env);
  t.teardown(() => void second.child.kill('SIGKILL'));
  // Everything not acknowledged is posted again with the same id: a post that did commit is not stored twice.
  await postAll(second.url, await clientCredentials(second.url, client), null, () => undefined);
  t.is(acknowledged.size, 1000);

  await eventually(() => changes.every((c) => applied.has(c.id)), 120_000, 'every event at the consumer');
  t.log(`duplicates the consumer ignored: ${duplicates}`);
  t.deepEqual([...applied.values()].sort((a, b) => a - b), changes.map((c) => c.data.n), 'each change applied exactly once');

  second.child.kill('SIGTERM');
  await new Promise((resolve) => second.child.once('exit', resolve));
  const check = await openDatabase(target);
  t.teardown(() => check.close());
  const stored = await check.db('outbox').where({ type: 'game.score.changed' }).select('id', 'published_at');
  t.is(stored.length, 1000, 'no event stored twice');
  t.true(stored.every((r: { published_at: Date | null }) => r.published_at !== null), 'every event relayed');
});
