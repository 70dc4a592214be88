import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import * as jose from 'jose';
import * as oidc from 'openid-client';
import { startHub, type Hub } from '../../src/app/start.ts';
import { loadConfig } from '../../src/platform/config.ts';
import { realBackends, testRedisPrefix, testRedisUrl } from '../helpers/backend.ts';
import { cliWorld, runCli, runJson, withWorldDatabase, type CliWorld } from '../helpers/cli.ts';
import { relyingParty } from '../helpers/fixtures.ts';
import { signedInTokens, sceneOn } from '../helpers/oidc.ts';

/** A hub on the world's database and DATA_DIR (so its checkpoint files are the ones backed up), stopped by the caller. */
async function hubOn(t: ExecutionContext, world: CliWorld): Promise<Hub> {
  const config = loadConfig({
    ...world.env,
    PORT: '0',
    HOST: '127.0.0.1',
    ...(testRedisUrl ? { REDIS_URL: testRedisUrl, REDIS_PREFIX: testRedisPrefix() } : {}),
  });
  config.database = world.database;
  const hub = await startHub(config);
  let closed = false;
  const close = hub.close.bind(hub);
  hub.close = async () => {
    if (closed) return;
    closed = true;
    await close();
  };
  t.teardown(() => hub.close());
  return hub;
}

const embedded = realBackends ? test.skip : test;
const server = realBackends ? test : test.skip;

embedded('backup, change, restore: the changes are gone, the audit chain verifies, and tokens from before the backup still verify', async (t) => {
  t.timeout(600_000);
  const world = await cliWorld(t);
  const file = path.join(world.dataDir, '..', `uq-backup-${randomBytes(4).toString('hex')}.uqbackup`);
  t.teardown(() => writeFileSync(file, ''));

  // Before the backup: a person signs in to a service and holds its tokens.
  let hub = await hubOn(t, world);
  const s = await sceneOn(hub);
  const tokens = await signedInTokens(s);
  const issuer = hub.url;
  const kid = jose.decodeProtectedHeader(tokens.id_token!).kid!;
  await hub.auditCheckpoints.flush();

  // While the hub runs, backup is refused as every command is (and restore, below).
  const inUse = /^uniqverse: The embedded database in .* is in use by process \d+/m;
  const running = await runCli(world, ['backup', file]);
  t.is(running.code, 1);
  t.regex(running.stderr, inUse);
  t.false(existsSync(file));
  await hub.close();

  const backup = await runJson<{ file: string; latest_migration: string; audit: { last_seq: number }; contains: { checkpoint_files: number } }>(t, world, ['backup', file]);
  t.is(backup.file, file);
  t.true(backup.contains.checkpoint_files > 0);
  const backedUpTo = backup.audit.last_seq;
  t.regex(readFileSync(file).subarray(0, 20).toString('latin1'), /^UNIQVERSE-BACKUP 1\n/);
  t.is((await runCli(world, ['backup', file])).code, 2, 'an existing file is not replaced without --force');

  // After the backup: a new person (audited), a key rotation, and the hub signs checkpoints past the backup.
  await runJson(t, world, ['users', 'create', '--email', 'late@example.test', '--password', 'correct horse battery staple', '--name', 'Late']);
  const rotated = await runJson<{ keys: Array<{ kid: string }> }>(t, world, ['keys', 'rotate', '--activate-in', '0']);
  hub = await hubOn(t, world);
  const signedTo = await hub.auditCheckpoints.flush();
  t.true(signedTo > backedUpTo);
  const restoreWhileRunning = await runCli(world, ['restore', file, '--force']);
  t.is(restoreWhileRunning.code, 1);
  t.regex(restoreWhileRunning.stderr, inUse);
  await hub.close();

  // Refused, and nothing changed: a database in place without --force, a damaged file, a foreign file, another secret.
  const withoutForce = await runCli(world, ['restore', file]);
  t.is(withoutForce.code, 1);
  t.regex(withoutForce.stderr, /already holds a database: pass --force to replace it/);
  const damaged = `${file}.damaged`;
  const bytes = readFileSync(file);
  const middle = Math.floor(bytes.length / 2);
  bytes[middle] = bytes[middle]! ^ 0xff;
  writeFileSync(damaged, bytes);
  const corrupt = await runCli(world, ['restore', damaged, '--force']);
  t.is(corrupt.code, 1);
  t.regex(corrupt.stderr, /is damaged \(pglite\.tar\.gz does not match its checksum\): it cannot be restored/);
  writeFileSync(damaged, 'PGDMP not ours');
  const foreign = await runCli(world, ['restore', damaged, '--force']);
  t.is(foreign.code, 1);
  t.regex(foreign.stderr, /is not a UniQVerse backup/);
  const otherSecret = await runCli({ env: { ...world.env, UNIQVERSE_SECRET: randomBytes(32).toString('base64url') } }, ['restore', file, '--force']);
  t.is(otherSecret.code, 1);
  t.regex(otherSecret.stderr, /UNIQVERSE_SECRET does not open the signing keys in this backup/);
  await withWorldDatabase(world, async (db) => t.truthy(await db('users').where({ email: 'late@example.test' }).first(), 'a refused restore changes nothing'));
  t.deepEqual(readdirSync(world.dataDir).filter((name) => name.startsWith('.restoring') || name.startsWith('before-restore')), []);

  const restored = await runJson<{ audit_entry: number; set_aside: string; replaced: { last_seq: number; signed_to: number } }>(t, world, ['restore', file, '--force']);
  t.is(restored.audit_entry, backedUpTo + 1, 'the restore is the next entry of the restored chain');
  t.true(restored.replaced.last_seq > backedUpTo);
  t.is(restored.replaced.signed_to, signedTo);
  // What was replaced is kept aside, checkpoints included, out of verify's way.
  t.true(existsSync(path.join(restored.set_aside, 'pglite')));
  t.true(existsSync(path.join(restored.set_aside, 'audit-checkpoints')));

  await withWorldDatabase(world, async (db) => {
    t.falsy(await db('users').where({ email: 'late@example.test' }).first(), 'the person made after the backup is gone');
    const kids = (await db('signing_keys').select('kid')).map((row: { kid: string }) => row.kid);
    for (const key of rotated.keys) t.false(kids.includes(key.kid), 'the keys rotated in after the backup are gone');
    const entry = await db('audit_log').orderBy('seq', 'desc').first();
    t.is(entry.action, 'backup.restored');
    t.like(entry.data, { backup_last_seq: backedUpTo, replaced: { last_seq: restored.replaced.last_seq, signed_to: signedTo }, via: 'cli' });
  });
  const verified = await runJson<{ ok: boolean; last_seq: number; restores: Array<{ seq: number; replaced_last_seq: number; set_aside: string }> }>(t, world, ['audit', 'verify']);
  t.true(verified.ok);
  t.is(verified.last_seq, backedUpTo + 1);
  // verify says the chain was taken back, and to where the replaced one went.
  t.deepEqual(
    verified.restores.map(({ seq, replaced_last_seq, set_aside }) => ({ seq, replaced_last_seq, set_aside })),
    [{ seq: backedUpTo + 1, replaced_last_seq: restored.replaced.last_seq, set_aside: path.basename(restored.set_aside) }],
  );
  t.regex((await runCli(world, ['audit', 'verify'])).stdout, /Restored from a backup made .*: entry \d+, .*, replacing a chain that reached entry \d+ \(kept in before-restore-/);

  // The restored hub publishes the keys that signed the tokens from before the backup, and signs on.
  hub = await hubOn(t, world);
  const jwks = jose.createRemoteJWKSet(new URL(`${hub.url}/jwks`));
  const { payload } = await jose.jwtVerify(tokens.id_token!, jwks, { issuer, audience: s.client.client_id });
  t.is(payload.sub, s.person.id);
  t.is(jose.decodeProtectedHeader(tokens.id_token!).kid, kid);
  const again = await oidc.clientCredentialsGrant(await relyingParty(hub, s.client), { resource: s.service.resource, scope: 'read' });
  await jose.jwtVerify(again.access_token, jwks, { issuer: hub.url, audience: s.service.resource });
  t.true((await hub.auditCheckpoints.flush()) >= backedUpTo + 1, 'the restored chain, the restore included, is signed');
  await hub.close();
  t.true((await runJson<{ ok: boolean }>(t, world, ['audit', 'verify'])).ok);
});

embedded('restore into an empty DATA_DIR (a new machine) needs no --force and sets nothing aside', async (t) => {
  t.timeout(300_000);
  const world = await cliWorld(t);
  const file = path.join(world.dataDir, 'hub.uqbackup');
  await runJson(t, world, ['users', 'create', '--email', 'kept@example.test', '--password', 'correct horse battery staple', '--name', 'Kept']);
  await runJson(t, world, ['backup', file]);
  const fresh = await cliWorld(t, { env: { UNIQVERSE_SECRET: world.secret }, fresh: true });
  const restored = await runJson<{ set_aside: string | null; replaced: unknown }>(t, fresh, ['restore', file]);
  t.is(restored.set_aside, null);
  t.is(restored.replaced, null);
  await withWorldDatabase(fresh, async (db) => t.truthy(await db('users').where({ email: 'kept@example.test' }).first()));
  t.true((await runJson<{ ok: boolean }>(t, fresh, ['audit', 'verify'])).ok);
});

server('with DATABASE_URL, backup and restore print the pg_dump and pg_restore commands and touch nothing', async (t) => {
  const world = await cliWorld(t);
  const file = path.join(world.dataDir, 'hub.dump');
  const backup = await runJson<{ database: string; written: boolean; commands: string[] }>(t, world, ['backup', file]);
  t.is(backup.database, 'postgres');
  t.false(backup.written);
  t.is(backup.commands[0], `pg_dump --format=custom --no-owner --file='${file}' "$DATABASE_URL"`);
  t.false(existsSync(file));
  const text = await runCli(world, ['restore', file]);
  t.is(text.code, 0);
  t.regex(text.stdout, /pg_restore --clean --if-exists --no-owner --single-transaction --dbname="\$DATABASE_URL" '.*hub\.dump'/);
  t.false(text.stdout.includes(world.env.DATABASE_URL!), 'the database URL (and its password) is not printed');
});

test('backup and restore name their file: without it, or with two, they are called wrongly', async (t) => {
  for (const args of [['backup'], ['restore'], ['backup', 'a', 'b']]) {
    const run = await runCli(null, args);
    t.is(run.code, 2, args.join(' '));
    t.regex(run.stderr, args.length === 1 ? /missing <file>/ : /Unexpected argument 'b'/);
  }
});
