import { randomBytes } from 'node:crypto';
import test from 'ava';
import knexFactory from 'knex';
import { appendAudit } from '../../src/audit/audit-log.ts';
import { verifyAuditChain } from '../../src/audit/verify.ts';
import { openCliContext } from '../../src/cli/context.ts';
import { loadConfig } from '../../src/platform/config.ts';
import { deleteUser } from '../../src/identity/account-status.ts';
import { realBackends, testDatabase } from '../helpers/backend.ts';
import { startTestHub } from '../helpers/hub.ts';
import { sceneOn, signedInTokens } from '../helpers/oidc.ts';

const withUser = (url: string, user: string) => {
  const parsed = new URL(url);
  parsed.username = user;
  parsed.password = '';
  return parsed.toString();
};

test('the hub runs as a least-privilege role: migrations and grants by the owner (MIGRATION_DATABASE_URL); the role signs people in and appends to the audit log, but cannot update or delete an entry, nor disable the trigger', async (t) => {
  if (!realBackends) {
    t.log('skipped on PGlite: the embedded database has a single user, so there is no second role to run as (run with --backend real)');
    t.pass();
    return;
  }
  const adminUrl = process.env.TEST_DATABASE_URL!;
  const role = `uq_runtime_${randomBytes(5).toString('hex')}`;
  const admin = knexFactory({ client: 'pg', connection: adminUrl, pool: { min: 0, max: 1 } });
  await admin.raw('create role ?? login', [role]);
  // Registered first, so it runs last (after the database is dropped, which held the role's grants).
  t.teardown(async () => {
    await admin.raw('drop role if exists ??', [role]).catch(() => undefined);
    await admin.destroy();
  });
  const target = await testDatabase(t, { empty: true });
  if (target.kind !== 'postgres') throw new Error('expected a Postgres database');
  const ownerUrl = target.url;
  const runtimeUrl = withUser(ownerUrl, role);

  // The CLI (uniqverse migrate and every command) migrates through the owner, and the role gets its rights.
  const cli = await openCliContext(loadConfig({ DATA_DIR: '/tmp/uq-unused', DATABASE_URL: runtimeUrl, MIGRATION_DATABASE_URL: ownerUrl, UNIQVERSE_SECRET: 'x'.repeat(32), LOG_LEVEL: 'silent' }));
  t.true(cli.migrated.includes('111-audit-chain'));
  await cli.close();

  const hub = await startTestHub(t, { database: { kind: 'postgres', url: runtimeUrl }, env: { DATABASE_URL: runtimeUrl, MIGRATION_DATABASE_URL: ownerUrl } });
  t.is((await hub.db.raw('select current_user as role')).rows[0].role, role, 'the hub runs as the runtime role');
  const owner = knexFactory({ client: 'pg', connection: ownerUrl, pool: { min: 0, max: 1 } });
  t.teardown(() => owner.destroy());
  t.not((await owner('pg_tables').where({ tablename: 'audit_log' }).first('tableowner')).tableowner, role, 'it owns nothing');

  // Normal work: a sign-in, an account deleted, audit entries and signed checkpoints written.
  const scene = await sceneOn(hub);
  t.truthy((await signedInTokens(scene)).access_token);
  await deleteUser(hub.db, scene.person.id);
  await appendAudit(hub.db, { action: 'signin.failed', data: { email: 'probe@example.test' } });
  t.true((await hub.auditCheckpoints.flush()) >= 2);

  // What it cannot do to the audit log, even knowing the trigger is in its way.
  await t.throwsAsync(hub.db('audit_log').where({ seq: 1 }).update({ action: 'forged.entry' }), { message: /permission denied/ });
  await t.throwsAsync(hub.db('audit_log').where({ seq: 1 }).delete(), { message: /permission denied/ });
  await t.throwsAsync(hub.db.raw('truncate audit_log'), { message: /permission denied/ });
  await t.throwsAsync(hub.db.raw('alter table audit_log disable trigger audit_log_no_update'), { message: /must be owner/ });
  await t.throwsAsync(hub.db.raw('drop trigger audit_log_no_update on audit_log'), { message: /must be owner/ });
  await t.throwsAsync(hub.db.raw('set session_replication_role = replica'), { message: /permission denied/ });
  await t.throwsAsync(hub.db('audit_checkpoints').delete(), { message: /permission denied/ });
  await t.throwsAsync(hub.db('audit_chain').update({ id: '00000000-0000-4000-8000-000000000000' }), { message: /permission denied/ });
  await t.throwsAsync(hub.db('knex_migrations').delete(), { message: /permission denied/ });

  const report = await verifyAuditChain(hub.db, { dataDir: hub.config.dataDir, secret: hub.config.secret });
  t.true(report.ok, JSON.stringify(report.problem));
});

test('MIGRATION_DATABASE_URL without DATABASE_URL is refused at start, naming the variable', (t) => {
  t.throws(() => loadConfig({ MIGRATION_DATABASE_URL: 'postgres://owner@db/uniqverse', UNIQVERSE_SECRET: 'x'.repeat(32) }), { message: /^MIGRATION_DATABASE_URL: needs DATABASE_URL/ });
  t.throws(() => loadConfig({ DATABASE_URL: 'postgres://app@db/uniqverse', MIGRATION_DATABASE_URL: 'mysql://owner@db/x', UNIQVERSE_SECRET: 'x'.repeat(32) }), { message: /MIGRATION_DATABASE_URL: must start with postgres/ });
});
