import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import type { DatabaseTarget } from '../../src/platform/config.ts';
import { openDatabase, type Database } from '../../src/db/database.ts';
import { projectRoot } from '../../src/platform/views.ts';
import { copyMigratedPglite, testDatabase } from './backend.ts';
import { sealAuditWith } from '../../src/audit/personal-seal.ts';

/** Where a CLI test's commands run: its own data dir, secret and database. */
export interface CliWorld {
  env: Record<string, string>;
  secret: string;
  dataDir: string;
  /** The database the CLI uses, for the test to open after (never during) a CLI run on PGlite. */
  database: DatabaseTarget;
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * A database of the test's own for the CLI: a new Postgres database when TEST_DATABASE_URL is set,
 * otherwise the embedded PGlite in a temporary DATA_DIR, as `npm run seed` would use it. Migrating
 * from nothing takes seconds, so unless `fresh` is asked for (an empty database), it starts as a
 * copy of the migrated template the other tests use.
 */
export async function cliWorld(t: ExecutionContext, { env = {}, fresh = false }: { env?: Record<string, string>; fresh?: boolean } = {}): Promise<CliWorld> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'uq-cli-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const secret = randomBytes(32).toString('base64url');
  const database: DatabaseTarget = process.env.TEST_DATABASE_URL ? await testDatabase(t, { empty: fresh }) : { kind: 'pglite', dir: path.join(dataDir, 'pglite') };
  if (database.kind === 'pglite' && !fresh) await copyMigratedPglite(database.dir!);
  return {
    env: {
      DATA_DIR: dataDir,
      UNIQVERSE_SECRET: secret,
      LOG_LEVEL: 'silent',
      ...(database.kind === 'postgres' ? { DATABASE_URL: database.url } : {}),
      ...env,
    },
    secret,
    dataDir,
    database,
  };
}

/** Runs `src/cli.ts` in a child Node (the same Node 22 as ava) with only the world's environment. */
export function runCli(world: Pick<CliWorld, 'env'> | null, args: string[]): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [path.join(projectRoot, 'src/cli.ts'), ...args],
      { cwd: projectRoot, env: { PATH: process.env.PATH ?? '', ...world?.env }, timeout: 180_000 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') return reject(error);
        resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
      },
    );
  });
}

/** Runs a command with --json, fails the test unless it succeeded, and returns the one JSON object it printed. */
export async function runJson<T = Record<string, unknown>>(t: ExecutionContext, world: CliWorld, args: string[]): Promise<T> {
  const run = await runCli(world, [...args, '--json']);
  if (run.code !== 0) t.fail(`uniqverse ${args.join(' ')} exited ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

/** Opens the world's database in the test process (with its secret, as the hub would); closed again before the callback's promise settles. */
export async function withWorldDatabase<T>(world: CliWorld, work: (db: Database['db']) => Promise<T>): Promise<T> {
  const database = await openDatabase(world.database);
  sealAuditWith(database.db, world.secret);
  try {
    return await work(database.db);
  } finally {
    await database.close();
  }
}
