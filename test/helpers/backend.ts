import { randomBytes } from 'node:crypto';
import type { ExecutionContext } from 'ava';
import knexFactory from 'knex';
import type { DatabaseTarget } from '../../src/platform/config.ts';
import { openDatabase } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';

/** Which back end this run uses: the embedded defaults, or the real servers CI points us at. */
export const realBackends = Boolean(process.env.TEST_DATABASE_URL);
export const testRedisUrl = process.env.TEST_REDIS_URL || null;

let snapshot: Promise<Blob> | null = null;

/** A migrated PGlite, dumped once per worker; each test starts its own copy from it in well under a second. */
export function migratedSnapshot(): Promise<Blob> {
  snapshot ??= (async () => {
    const database = await openDatabase({ kind: 'pglite', dir: null });
    await migrateToLatest(database.db);
    const pglite = (database.db.client as unknown as { pglite: { dumpDataDir(c: 'none'): Promise<Blob> } }).pglite;
    const dump = await pglite.dumpDataDir('none');
    await database.close();
    return dump;
  })();
  return snapshot;
}

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

/** A database of this test's own: a fresh Postgres database, or a fresh in-memory PGlite. */
export async function testDatabase(t: ExecutionContext): Promise<DatabaseTarget> {
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) return { kind: 'pglite', dir: null, loadDataDir: await migratedSnapshot() };
  const name = `uq_test_${randomBytes(6).toString('hex')}`;
  const admin = knexFactory({ client: 'pg', connection: adminUrl, pool: { min: 0, max: 1 } });
  await admin.raw(`create database ${name}`);
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
