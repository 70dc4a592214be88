import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import knexFactory from 'knex';
import type { DatabaseTarget } from '../../src/platform/config.ts';
import { openDatabase } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { projectRoot } from '../../src/platform/views.ts';

/** Which back end this run uses: the embedded defaults, or the real servers CI points us at. */
export const realBackends = Boolean(process.env.TEST_DATABASE_URL);
export const testRedisUrl = process.env.TEST_REDIS_URL || null;

// Embedded test databases live in memory-backed files where the machine has them.
const scratch = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();

let templateDir: Promise<string> | null = null;

/**
 * PGlite starts with Postgres's default 128 MB of shared buffers, and setting them up is most of
 * the CPU a start costs (1.2–1.7 s here, 0.4–0.5 s with 16 MB); a test's database is a few MB.
 */
const testPostgresSettings = 'shared_buffers = 16MB\n';

/** Names a template by what makes it: the migrations, the PGlite that ran them and our settings. */
function templateKey(): string {
  const hash = createHash('sha256').update(testPostgresSettings);
  const dir = path.join(projectRoot, 'migrations');
  for (const file of readdirSync(dir).sort()) hash.update(file).update(readFileSync(path.join(dir, file)));
  hash.update(readFileSync(path.join(projectRoot, 'node_modules/@electric-sql/pglite/package.json')));
  return hash.digest('hex').slice(0, 16);
}

/**
 * A migrated PGlite data directory, made once for a set of migrations and shared by every test
 * worker (ava runs each file in a process of its own, and migrating a PGlite costs seconds of CPU):
 * made beside, then renamed into place, so a worker sees a whole one or none. Each test's database
 * is a copy of it.
 */
export function migratedTemplateDir(): Promise<string> {
  templateDir ??= (async () => {
    const key = templateKey();
    const dir = path.join(scratch, `uq-template-${key}`);
    if (existsSync(dir)) return path.join(dir, 'pglite');
    const building = mkdtempSync(path.join(scratch, `uq-building-${key}-`));
    const database = await openDatabase({ kind: 'pglite', dir: path.join(building, 'pglite') });
    await migrateToLatest(database.db);
    await database.close();
    appendFileSync(path.join(building, 'pglite', 'postgresql.auto.conf'), testPostgresSettings);
    try {
      renameSync(building, dir);
    } catch {
      // Another worker got there first: its template is the same.
      rmSync(building, { recursive: true, force: true });
    }
    // Templates of other migrations go after a day unused (another checkout may use one now), and
    // what a killed worker left half-built after an hour.
    for (const other of readdirSync(scratch)) {
      const maxAge = /^uq-template-/.test(other) && other !== path.basename(dir) ? 86_400_000 : /^uq-building-/.test(other) ? 3_600_000 : null;
      if (maxAge === null) continue;
      const otherDir = path.join(scratch, other);
      const age = Date.now() - (statSync(otherDir, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > maxAge) rmSync(otherDir, { recursive: true, force: true });
    }
    return path.join(dir, 'pglite');
  })();
  return templateDir;
}

/** Makes `dir` a copy of the migrated template, for a PGlite to open. */
export async function copyMigratedPglite(dir: string): Promise<void> {
  cpSync(await migratedTemplateDir(), dir, { recursive: true });
}

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

let postgresTemplate: Promise<string> | null = null;

/**
 * A migrated Postgres database marked as a template, made once for a set of migrations (by whichever
 * worker gets there first, under an advisory lock) and kept: CREATE DATABASE … TEMPLATE copies it
 * in a few milliseconds, where migrating each test's database took most of a second.
 */
function migratedPostgresTemplate(adminUrl: string): Promise<string> {
  postgresTemplate ??= (async () => {
    const name = `uq_template_${templateKey()}`;
    const admin = knexFactory({ client: 'pg', connection: adminUrl, pool: { min: 1, max: 1 } });
    try {
      await admin.raw('select pg_advisory_lock(hashtext(?))', [name]);
      const ready = await admin('pg_database').where({ datname: name, datistemplate: true }).first('datname');
      if (!ready) {
        // A template left half-made by a run that died is made again.
        await admin.raw(`drop database if exists ${name} with (force)`);
        await admin.raw(`create database ${name}`);
        const database = await openDatabase({ kind: 'postgres', url: withDatabase(adminUrl, name) });
        await migrateToLatest(database.db);
        await database.close();
        await admin.raw(`alter database ${name} is_template true allow_connections false`);
      }
      await admin.raw('select pg_advisory_unlock(hashtext(?))', [name]);
      return name;
    } finally {
      await admin.destroy();
    }
  })();
  return postgresTemplate;
}

/**
 * A database of this test's own: a fresh Postgres database, or a fresh PGlite data directory; both
 * migrated already unless `empty` is asked for (then Postgres gives an empty database and PGlite a
 * directory that does not exist yet).
 */
export async function testDatabase(t: ExecutionContext, { empty = false }: { empty?: boolean } = {}): Promise<DatabaseTarget> {
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) {
    const parent = mkdtempSync(path.join(scratch, 'uq-db-'));
    t.teardown(() => rmSync(parent, { recursive: true, force: true }));
    const dir = path.join(parent, 'pglite');
    if (!empty) await copyMigratedPglite(dir);
    return { kind: 'pglite', dir };
  }
  const template = empty ? null : await migratedPostgresTemplate(adminUrl);
  const name = `uq_test_${randomBytes(6).toString('hex')}`;
  const admin = knexFactory({ client: 'pg', connection: adminUrl, pool: { min: 0, max: 1 } });
  await admin.raw(`create database ${name}${template ? ` template ${template}` : ''}`);
  await admin.destroy();
  t.teardown(async () => {
    const cleanup = knexFactory({ client: 'pg', connection: adminUrl, pool: { min: 0, max: 1 } });
    await cleanup.raw(`drop database if exists ${name} with (force)`).catch(() => undefined);
    await cleanup.destroy();
  });
  return { kind: 'postgres', url: withDatabase(adminUrl, name) };
}

/** A Redis key prefix of this test's own, so tests sharing one Redis never see each other's streams. */
export function testRedisPrefix(): string {
  return `uqtest:${randomBytes(5).toString('hex')}:`;
}
