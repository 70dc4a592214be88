import { createHmac } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import type { Knex } from 'knex';
import { appendAudit, entryHash } from '../../src/audit/audit-log.ts';
import type { AuditRow } from '../../src/queries/audit-log.ts';
import { canonicalJson } from '../../src/audit/canonical-json.ts';
import { checkpointDir, checkpointKey, startCheckpointWriter } from '../../src/audit/checkpoints.ts';
import { verifyAuditChain } from '../../src/audit/verify.ts';
import { auditVerify } from '../../src/cli/audit.ts';
import type { Hub } from '../../src/app/start.ts';
import { startTestHub } from '../helpers/hub.ts';

async function writeEntries(hub: Hub, count: number, tag: string) {
  for (let i = 0; i < count; i++) await appendAudit(hub.db, { action: 'signin.failed', ip: '192.0.2.7', data: { email: `${tag}${i}@example.test` } });
}

function scratchDir(t: ExecutionContext): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'uq-audit-dir-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Another hub instance's checkpoint writer: the same database, a DATA_DIR of its own. */
async function signAsInstance(hub: Hub, dataDir: string): Promise<number> {
  const writer = startCheckpointWriter({ db: hub.db, dataDir, secret: hub.config.secret, logger: hub.logger, intervalMs: 3_600_000 });
  const signed = await writer.flush();
  await writer.stop();
  return signed;
}

/** What an attacker who owns the tables does: rewrite from `seq` on, every later hash recomputed. */
async function reforgeFrom(db: Knex, seq: number) {
  await db.transaction(async (trx) => {
    await trx.raw('alter table audit_log disable trigger audit_log_no_update');
    const rows: AuditRow[] = await trx('audit_log').where('seq', '>=', seq).orderBy('seq');
    let prev = (await trx('audit_log').where({ seq: seq - 1 }).first('hash')).hash as string;
    for (const row of rows) {
      const changed = Number(row.seq) === seq ? { ...row, data: { email: 'forged@example.test' } } : row;
      const hash = entryHash(prev, changed);
      await trx('audit_log').where({ seq: row.seq }).update({ data: changed.data, prev_hash: prev, hash });
      prev = hash;
    }
    await trx.raw('alter table audit_log enable trigger audit_log_no_update');
  });
}

test('another database with the same DATA_DIR (a fresh cluster, a separate staging database): each chain verifies, and the other chain\'s files are listed, not held against it', async (t) => {
  const production = await startTestHub(t);
  const secret = production.config.secret;
  const staging = await startTestHub(t, { secret });
  const shared = production.config.dataDir;
  await writeEntries(production, 5, 'prod');
  t.is(await production.auditCheckpoints.flush(), 5);
  await writeEntries(staging, 3, 'staging');

  // The staging hub (or the CLI) pointed at the production DATA_DIR: it signs its own chain there too.
  t.is(await signAsInstance(staging, shared), 3);
  const stagingReport = await verifyAuditChain(staging.db, { dataDir: shared, secret });
  t.true(stagingReport.ok, JSON.stringify(stagingReport.problem));
  t.is(stagingReport.signedTo, 3);
  t.not(stagingReport.chain, null);
  const productionReport = await verifyAuditChain(production.db, { dataDir: shared, secret });
  t.true(productionReport.ok, JSON.stringify(productionReport.problem));
  t.not(productionReport.chain, stagingReport.chain);
  t.deepEqual(stagingReport.otherChains, [{ chain: productionReport.chain!, files: 1 }], 'says plainly what it did not check');
  t.deepEqual(readdirSync(checkpointDir(shared)).sort(), [productionReport.chain!, stagingReport.chain!].sort());
  const ctx = { config: { ...staging.config, dataDir: shared }, db: staging.db, secrets: staging.secrets, hasher: staging.hasher, migrated: [] };
  const printed = await auditVerify.run(ctx, {});
  t.regex(printed.text, /^Audit chain intact: 3 entries/);
  t.regex(printed.text, new RegExp(`Not checked: 1 checkpoint file\\(s\\) in .*${productionReport.chain!}, written for another chain`));

  // Production's checkpoints still catch a re-forged production chain.
  await reforgeFrom(production.db, 3);
  const forged = await verifyAuditChain(production.db, { dataDir: shared, secret });
  t.false(forged.ok);
  t.is(forged.problem?.seq, 3);
  t.regex(forged.problem!.reason, /re-forged/);
});

test('several instances, each with its own DATA_DIR: verify sees every instance\'s checkpoints through the database, from any DATA_DIR, and names each writer', async (t) => {
  const hub = await startTestHub(t);
  const secondInstance = scratchDir(t);
  const elsewhere = scratchDir(t);
  await writeEntries(hub, 4, 'a');
  t.is(await hub.auditCheckpoints.flush(), 4);
  await writeEntries(hub, 3, 'b');
  t.is(await signAsInstance(hub, secondInstance), 7);

  const report = await verifyAuditChain(hub.db, { dataDir: elsewhere, secret: hub.config.secret });
  t.true(report.ok, JSON.stringify(report.problem));
  t.is(report.signedTo, 7);
  t.is(report.checkpointFiles, 0, 'no file here');
  t.is(report.storedCheckpoints, 2);
  t.deepEqual(report.writers.map((w) => w.signedTo).sort(), [4, 7]);
  t.true(report.writers.some((w) => w.writer.endsWith(path.resolve(secondInstance))));

  // Re-forged within what only the second instance signed: caught from a DATA_DIR that never saw it.
  await reforgeFrom(hub.db, 6);
  const forged = await verifyAuditChain(hub.db, { dataDir: elsewhere, secret: hub.config.secret });
  t.false(forged.ok);
  t.is(forged.problem?.seq, 6);
  // And the database's checkpoints cannot be edited or dropped by the application.
  await t.throwsAsync(hub.db('audit_checkpoints').delete(), { message: /append-only/ });
  await t.throwsAsync(hub.db('audit_chain').update({ id: '00000000-0000-4000-8000-000000000000' }), { message: /append-only/ });
});

test('changing the chain id in the database does not hide a re-forged chain from the checkpoint files', async (t) => {
  const hub = await startTestHub(t);
  await writeEntries(hub, 6, 'x');
  t.is(await hub.auditCheckpoints.flush(), 6);
  await reforgeFrom(hub.db, 4);
  await hub.db.transaction(async (trx) => {
    for (const table of ['audit_chain', 'audit_checkpoints']) await trx.raw(`alter table ${table} disable trigger ${table}_no_update`);
    await trx('audit_checkpoints').delete();
    await trx('audit_chain').update({ id: '00000000-0000-4000-8000-000000000000' });
    for (const table of ['audit_chain', 'audit_checkpoints']) await trx.raw(`alter table ${table} enable trigger ${table}_no_update`);
  });
  const report = await verifyAuditChain(hub.db, { dataDir: hub.config.dataDir, secret: hub.config.secret });
  t.false(report.ok);
  t.is(report.problem?.seq, 4);
  t.regex(report.problem!.reason, /id was changed/);
});

/** A checkpoint file as hubs wrote them before checkpoints named their chain (version 1, at the top of the folder). */
function writeVersion1File(dataDir: string, secret: string, from: number, hashes: string[]) {
  const body = { version: 1, from, to: from + hashes.length - 1, hashes, written_at: new Date().toISOString() };
  const mac = createHmac('sha256', checkpointKey(secret)).update(canonicalJson(body)).digest('hex');
  mkdirSync(checkpointDir(dataDir), { recursive: true });
  writeFileSync(path.join(checkpointDir(dataDir), `${String(body.to).padStart(12, '0')}.json`), JSON.stringify({ ...body, mac }));
}

test('after the upgrade, checkpoint files written before chains had ids still vouch for the chain; one that does not match says how to tell', async (t) => {
  const hub = await startTestHub(t);
  const other = await startTestHub(t, { secret: hub.config.secret });
  await writeEntries(hub, 4, 'old');
  await writeEntries(other, 2, 'elsewhere');
  const hashes = (await hub.db('audit_log').orderBy('seq').select('hash')).map((r: { hash: string }) => r.hash);
  writeVersion1File(hub.config.dataDir, hub.config.secret, 1, hashes);

  // The hub signs the chain again under its id, checking it against the old file; verify counts both.
  t.is(await hub.auditCheckpoints.flush(), 4);
  const report = await verifyAuditChain(hub.db, { dataDir: hub.config.dataDir, secret: hub.config.secret });
  t.true(report.ok, JSON.stringify(report.problem));
  t.is(report.checkpointFiles, 2);

  // Another database read with that DATA_DIR: the old file names no chain, so it is held against it, and the message says what to do.
  const elsewhere = await verifyAuditChain(other.db, { dataDir: hub.config.dataDir, secret: hub.config.secret });
  t.false(elsewhere.ok);
  t.is(elsewhere.problem?.seq, 1);
  t.regex(elsewhere.problem!.reason, /written before checkpoints named their chain.*move it out of the checkpoint folder/);

  // And it still catches a re-forged chain.
  await reforgeFrom(hub.db, 2);
  const forged = await verifyAuditChain(hub.db, { dataDir: hub.config.dataDir, secret: hub.config.secret });
  t.false(forged.ok);
  t.is(forged.problem?.seq, 2);
});
