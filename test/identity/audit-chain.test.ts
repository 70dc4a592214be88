import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import type { Knex } from 'knex';
import { appendAudit, entryHash } from '../../src/audit/audit-log.ts';
import type { AuditRow } from '../../src/queries/audit-log.ts';
import { verifyAuditChain } from '../../src/audit/verify.ts';
import { auditVerify } from '../../src/cli/audit.ts';
import { describeFailure } from '../../src/cli/errors.ts';
import { loadConfig } from '../../src/platform/config.ts';
import { startHub, type Hub } from '../../src/app/start.ts';
import { startTestHub } from '../helpers/hub.ts';
import { testDatabase } from '../helpers/backend.ts';

const projectRoot = path.resolve(import.meta.dirname, '../..');

async function writeEntries(hub: Hub, count: number) {
  for (let i = 0; i < count; i++) {
    await appendAudit(hub.db, { action: 'signin.failed', ip: '192.0.2.7', userAgent: 'test', data: { email: `n${i}@example.test`, reason: 'wrong_password', nested: { b: 2, a: [1, 'x'] } } });
  }
}

/** What an attacker with the database (and the right to disable the trigger) does. */
async function withoutTrigger(db: Knex, change: (trx: Knex) => Promise<void>) {
  await db.transaction(async (trx) => {
    await trx.raw('alter table audit_log disable trigger audit_log_no_update');
    await change(trx);
    await trx.raw('alter table audit_log enable trigger audit_log_no_update');
  });
}

async function verifyCommand(hub: Hub): Promise<{ exitCode: number; message: string }> {
  const ctx = { config: hub.config, db: hub.db, secrets: hub.secrets, hasher: hub.hasher, migrated: [] };
  try {
    const output = await auditVerify.run(ctx, {});
    return { exitCode: 0, message: output.text };
  } catch (error) {
    const failure = describeFailure(error, auditVerify);
    return { exitCode: failure.exitCode, message: failure.message };
  }
}

test('the chain links every entry to the one before; the database refuses UPDATE, DELETE and TRUNCATE', async (t) => {
  const hub = await startTestHub(t);
  await writeEntries(hub, 3);
  const rows: AuditRow[] = await hub.db('audit_log').orderBy('seq');
  t.deepEqual(rows.map((r) => Number(r.seq)), [1, 2, 3]);
  t.is(rows[0]!.prev_hash, '0'.repeat(64));
  t.is(rows[1]!.prev_hash, rows[0]!.hash);
  t.is(rows[2]!.hash, entryHash(rows[1]!.hash, rows[2]!));
  await t.throwsAsync(hub.db('audit_log').where({ seq: 2 }).update({ action: 'signin.succeeded' }), { message: /append-only/ });
  await t.throwsAsync(hub.db('audit_log').where({ seq: 3 }).delete(), { message: /append-only/ });
  await t.throwsAsync(hub.db.raw('truncate audit_log'), { message: /append-only/ });
  t.is((await verifyCommand(hub)).exitCode, 0);
});

test('parallel writers never fork the chain', async (t) => {
  const hub = await startTestHub(t);
  await Promise.all(Array.from({ length: 20 }, (_, i) => appendAudit(hub.db, { action: 'user.signup', data: { i } })));
  const report = await verifyAuditChain(hub.db, { dataDir: hub.config.dataDir, secret: hub.config.secret });
  t.true(report.ok, JSON.stringify(report.problem));
  t.is(report.entries, 20);
});

test('audit verify names a changed entry', async (t) => {
  const hub = await startTestHub(t);
  await writeEntries(hub, 6);
  await hub.auditCheckpoints.flush();
  t.is((await verifyCommand(hub)).exitCode, 0);
  await withoutTrigger(hub.db, (trx) => trx('audit_log').where({ seq: 4 }).update({ data: { email: 'someone-else@example.test' } }));
  const result = await verifyCommand(hub);
  t.is(result.exitCode, 1);
  t.regex(result.message, /entry 4\b.*changed/);
});

test('audit verify names a deleted entry, in the middle or at the end', async (t) => {
  const hub = await startTestHub(t);
  await writeEntries(hub, 6);
  await hub.auditCheckpoints.flush();
  await withoutTrigger(hub.db, (trx) => trx('audit_log').where({ seq: 6 }).delete());
  const tail = await verifyCommand(hub);
  t.is(tail.exitCode, 1);
  t.regex(tail.message, /entr(y|ies) 6\b.*(missing|deleted)/);
  await withoutTrigger(hub.db, (trx) => trx('audit_log').where({ seq: 3 }).delete());
  const middle = await verifyCommand(hub);
  t.is(middle.exitCode, 1);
  t.regex(middle.message, /entry 3\b.*missing/);
});

test('audit verify catches a chain re-forged after a checkpoint (every hash recomputed)', async (t) => {
  const hub = await startTestHub(t);
  await writeEntries(hub, 8);
  await hub.auditCheckpoints.flush();
  await writeEntries(hub, 2);
  // Rewrite entry 5 and recompute every hash after it, so the chain is consistent in itself.
  await withoutTrigger(hub.db, async (trx) => {
    const rows: AuditRow[] = await trx('audit_log').where('seq', '>=', 5).orderBy('seq');
    let prev = (await trx('audit_log').where({ seq: 4 }).first('hash')).hash as string;
    for (const row of rows) {
      const changed = Number(row.seq) === 5 ? { ...row, data: { email: 'forged@example.test' } } : row;
      const hash = entryHash(prev, changed);
      await trx('audit_log').where({ seq: row.seq }).update({ data: changed.data, prev_hash: prev, hash });
      prev = hash;
    }
  });
  const result = await verifyCommand(hub);
  t.is(result.exitCode, 1);
  t.regex(result.message, /entry 5\b.*re-forged/);
});

test('uniqverse audit verify, run as a command, exits 0 and then 1 naming the tampered entry', async (t) => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'uq-audit-cli-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const secret = randomBytes(32).toString('base64url');
  const env: Record<string, string> = { DATA_DIR: dataDir, UNIQVERSE_SECRET: secret, LOG_LEVEL: 'silent' };
  // On the real back end, a fresh Postgres database of this test's own, reachable from another process.
  const target = await testDatabase(t);
  if (target.kind === 'postgres') env.DATABASE_URL = target.url;
  const config = loadConfig({ ...env, PORT: '0', HOST: '127.0.0.1' });
  let hub = await startHub(config);
  await writeEntries(hub, 5);
  await hub.close(); // the final checkpoint is written at shutdown

  const cli = (args: string[]) => spawnSync(process.execPath, ['src/cli.ts', ...args], { cwd: projectRoot, env: { ...process.env, ...env, NODE_ENV: 'test' }, encoding: 'utf8' });
  const intact = cli(['audit', 'verify']);
  t.is(intact.status, 0, intact.stderr);
  t.regex(intact.stdout, /intact: 5 entries/);

  hub = await startHub(config);
  await withoutTrigger(hub.db, (trx) => trx('audit_log').where({ seq: 2 }).update({ ip: '203.0.113.9' }));
  await hub.close();
  const broken = cli(['audit', 'verify']);
  t.is(broken.status, 1);
  t.regex(broken.stderr, /entry 2\b/);
});
