import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import * as oidc from 'openid-client';
import type { DatabaseTarget } from '../../src/platform/config.ts';
import { createSecretBox } from '../../src/platform/crypto/secret-box.ts';
import { openDatabase } from '../../src/db/database.ts';
import { createClient } from '../../src/catalog/clients.ts';
import { createService } from '../../src/catalog/services.ts';
import { PasswordHasher } from '../../src/identity/password-hashing.ts';
import { createUser } from '../../src/identity/users.ts';
import { RedisBus } from '../../src/events/redis-bus.ts';
import { zeroStreamId } from '../../src/events/stream-ids.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { copyMigratedPglite, testDatabase, testRedisPrefix, testRedisUrl } from '../helpers/backend.ts';
import { callbackUrl } from '../helpers/fixtures.ts';
import { eventually } from '../helpers/oidc.ts';
import { drive, holdings, Ledger, lostTokens, type Party } from './load.ts';
import { freePort } from '../helpers/processes.ts';
import { sealAuditWith } from '../../src/audit/personal-seal.ts';

const hubScript = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'events', 'hub-process.ts');

function startChild(env: Record<string, string>): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [hubScript], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    // Also when the worker exits without running teardowns (ava's timeout): no hub outlives the test.
    const orphanGuard = () => child.kill('SIGKILL');
    process.once('exit', orphanGuard);
    child.once('exit', () => process.off('exit', orphanGuard));
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('READY ')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`hub process exited with ${code} before it was ready`)));
  });
}

const killNine = (child: ChildProcess) => new Promise<void>((resolve) => {
  if (child.exitCode !== null || child.signalCode !== null) return resolve();
  child.once('exit', () => resolve());
  child.kill('SIGKILL');
});

test('the hub killed with SIGKILL mid-sign-in: after a restart on the same database nothing is half-written, every token given is valid, every event is published, and people sign in again', async (t) => {
  t.timeout(90_000);
  const t0 = Date.now();
  const phases: string[] = [];
  const phase = (name: string) => phases.push(`${name} ${Date.now() - t0} ms`);
  const dataDir = mkdtempSync(path.join(tmpdir(), 'uq-fault-kill-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const secret = randomBytes(32).toString('base64url');
  // Postgres: a migrated database of the test's own. PGlite: the hub's DATA_DIR/pglite, a copy of
  // the worker's migrated template (a fresh PGlite would spend most of the test starting and migrating).
  const target: DatabaseTarget = process.env.TEST_DATABASE_URL ? await testDatabase(t) : { kind: 'pglite', dir: path.join(dataDir, 'pglite') };
  if (target.kind === 'pglite') await copyMigratedPglite(target.dir!);
  phase('database');
  const setup = await openDatabase(target);
  sealAuditWith(setup.db, secret);
  await createService(setup.db, { slug: 'vezepyweb', name: 'VEZEPyWeb' });
  const client = await createClient(setup.db, createSecretBox(secret, 'client-secrets'), async () => undefined, { service: 'vezepyweb', type: 'web', redirectUris: [callbackUrl] });
  const hasher = new PasswordHasher();
  const people = [];
  for (let i = 0; i < 3; i++) {
    const email = `kill${i}@example.test`;
    const password = `correct horse battery ${i}`;
    await createUser(setup.db, hasher, { email, password, name: `Person ${i}`, admin: false, emailVerified: true });
    people.push({ email, password });
  }
  await setup.close();

  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const prefix = testRedisPrefix();
  const env: Record<string, string> = {
    PORT: String(port),
    HOST: '127.0.0.1',
    ISSUER: url,
    DATA_DIR: dataDir,
    UNIQVERSE_SECRET: secret,
    LOG_LEVEL: 'fatal',
    ...(target.kind === 'postgres' ? { DATABASE_URL: target.url } : {}),
    ...(testRedisUrl ? { REDIS_URL: testRedisUrl, REDIS_PREFIX: prefix } : {}),
  };
  const parties: Party[] = people.map((person) => ({ url, client, person }));
  const discover = () => oidc.discovery(new URL(url), client.client_id, {}, oidc.ClientSecretBasic(client.client_secret!), { execute: [oidc.allowInsecureRequests] });
  const ledger = new Ledger();

  phase('set-up');
  const first = await startChild(env);
  phase('first hub');
  t.teardown(() => killNine(first));
  let stopped = false;
  const load = drive(parties, ledger, await discover(), () => stopped);
  await eventually(async () => (ledger.signIns >= 3 ? true : undefined), 30_000);
  // Mid-flight: the workers are somewhere in their sign-ins and token requests.
  await new Promise((resolve) => setTimeout(resolve, 150 + Math.floor(Math.random() * 300)));
  await killNine(first);
  stopped = true;
  await load;
  const beforeKill = { signIns: ledger.signIns, refreshes: ledger.refreshes, cut: ledger.failures.length };

  phase('killed');
  const second = await startChild(env);
  phase('second hub');
  t.teardown(() => killNine(second));
  const again = ledger.signIns;
  stopped = false;
  const rp = await discover();
  const reload = drive(parties, ledger, rp, () => stopped);
  await eventually(async () => (ledger.signIns >= again + parties.length ? true : undefined), 30_000);
  stopped = true;
  await reload;
  phase('signed in again');
  t.log(phases.join(', '));
  t.log(`before kill -9: ${beforeKill.signIns} sign-ins, ${beforeKill.refreshes} refreshes, ${beforeKill.cut} requests cut; after the restart: ${ledger.signIns - again} sign-ins`);
  t.deepEqual(ledger.failures.slice(beforeKill.cut).map((f) => `${f.step}: ${f.status} ${f.body.slice(0, 120)}`), [], 'after the restart every request succeeds');
  t.deepEqual(await lostTokens(parties[0]!, ledger), [], 'every token a client was given is active');

  // The relay sends what was left from before the kill at start and each new event within ~0.1 s of its
  // commit; give it a second, then look at the database with the hub stopped (PGlite has one process).
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  second.kill('SIGTERM');
  await new Promise((resolve) => second.once('exit', resolve));
  const check = await openDatabase(target);
  t.teardown(() => check.close());
  const held = await holdings(check.db, { dataDir, secret });
  t.true(held.chain.ok, JSON.stringify(held.chain.problem));
  t.is(held.unpublished, 0, 'every event in the outbox was published');
  t.is(held.signInEntries, held.sessionEvents, 'every sign-in audit entry has its event and no event is without its entry');
  t.true(held.signInEntries >= ledger.signIns && held.signInEntries <= ledger.loginPosts, `sign-in entries ${held.signInEntries}: at least the ${ledger.signIns} completed, at most the ${ledger.loginPosts} posted`);
  const sessions = await check.db('oidc_models').where({ model: 'Session' }).count({ n: '*' }).first();
  t.true(Number(sessions!.n) <= held.signInEntries, 'no session without its sign-in entry');
  const orphans = await check.db('oidc_models as t')
    .whereNotNull('t.grant_id')
    .whereNot('t.model', 'Grant')
    .whereNotExists(check.db('oidc_models as g').where('g.model', 'Grant').whereRaw('g.id = t.grant_id'))
    .select('t.model', 't.id');
  t.deepEqual(orphans, [], 'no token without its grant');
  const usersWithoutEvent = await check.db('users as u')
    .whereNotExists(check.db('outbox as o').where('o.type', 'user.signup').whereRaw('o.user_id = u.id'))
    .select('u.email');
  t.deepEqual(usersWithoutEvent, [], 'no user without its user.signup event');

  if (testRedisUrl) {
    // At least once: an event relayed just before the kill and not yet marked is sent again (consumers dedupe by id).
    const bus = new RedisBus({ url: testRedisUrl, prefix, maxLength: 100_000, logger: createLogger('silent') });
    t.teardown(() => bus.close());
    const stream = new Set((await bus.read(zeroStreamId, 100_000)).entries.map((e) => e.event.id));
    t.deepEqual(held.outboxIds.filter((id) => !stream.has(id)), [], 'every outbox event is in the stream');
  }
});
