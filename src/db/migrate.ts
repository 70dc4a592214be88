import knexFactory, { type Knex } from 'knex';
import { migrations } from '../../migrations/index.ts';

const source: Knex.MigrationSource<string> = {
  getMigrations: async () => migrations.map(([name]) => name),
  getMigrationName: (name) => name,
  getMigration: async (name) => {
    const found = migrations.find(([n]) => n === name);
    if (!found) throw new Error(`unknown migration ${name}`);
    return found[1];
  },
};

/** Runs every pending migration; returns the names it ran. Safe to call from several instances at once (knex takes a lock). */
export async function migrateToLatest(db: Knex): Promise<string[]> {
  const [, ran] = (await db.migrate.latest({ migrationSource: source })) as [number, string[]];
  return ran;
}

export async function pendingMigrations(db: Knex): Promise<string[]> {
  const [, pending] = (await db.migrate.list({ migrationSource: source })) as [unknown[], Array<{ file?: string } | string>];
  return pending.map((p) => (typeof p === 'string' ? p : String(p.file)));
}

/** Tables the runtime role may read and append to, never change: the audit chain and what vouches for it. */
const appendOnlyTables = ['audit_log', 'audit_chain', 'audit_checkpoints'];
/** Tables only the migrating role writes. */
const migrationTables = ['knex_migrations', 'knex_migrations_lock'];

/**
 * What the role the hub runs as may do, granted by the schema's owner after each migration (so new
 * tables are covered): read and write every table of the schema, except that the audit tables take
 * only SELECT and INSERT, and the migration bookkeeping only SELECT. It owns nothing, so it cannot
 * disable a trigger or drop a table either. Idempotent.
 */
export async function grantRuntimeRole(owner: Knex, role: string): Promise<void> {
  await owner.transaction(async (trx) => {
    const schema: string = (await trx.raw('select current_schema() as schema')).rows[0].schema;
    await trx.raw('grant usage on schema ?? to ??', [schema, role]);
    await trx.raw('grant select, insert, update, delete on all tables in schema ?? to ??', [schema, role]);
    await trx.raw('grant usage, select on all sequences in schema ?? to ??', [schema, role]);
    for (const table of appendOnlyTables) await trx.raw('revoke update, delete, truncate, references, trigger on ?? from ??', [table, role]);
    for (const table of migrationTables) await trx.raw('revoke insert, update, delete, truncate, references, trigger on ?? from ??', [table, role]);
  });
}

const roleOf = async (db: Knex): Promise<string> => (await db.raw('select current_user as role')).rows[0].role as string;

/**
 * Brings the schema up to date. With `migrationDatabaseUrl` (the owner's URL) the migrations run
 * through it, and the owner then grants the role of `db` its rights (grantRuntimeRole); without,
 * through `db` itself.
 */
export async function migrateSchema(db: Knex, migrationDatabaseUrl: string | null): Promise<string[]> {
  if (!migrationDatabaseUrl) return migrateToLatest(db);
  const owner = knexFactory({ client: 'pg', connection: migrationDatabaseUrl, pool: { min: 0, max: 1 }, acquireConnectionTimeout: 10_000 });
  try {
    const ran = await migrateToLatest(owner);
    const runtime = await roleOf(db);
    if (runtime !== (await roleOf(owner))) await grantRuntimeRole(owner, runtime);
    return ran;
  } finally {
    await owner.destroy();
  }
}

/**
 * Why this code cannot serve the database as it is (null: it is at the latest migration this code
 * ships): migrations not applied yet, or applied ones this code does not know (a newer version
 * migrated it).
 */
export async function migrationProblem(db: Knex): Promise<string | null> {
  const applied = new Set<string>((await db('knex_migrations').select('name')).map((row: { name: string }) => row.name));
  const shipped = migrations.map(([name]) => name);
  const known = new Set(shipped);
  const unknown = [...applied].filter((name) => !known.has(name)).sort();
  const missing = shipped.filter((name) => !applied.has(name));
  const list = (names: string[]) => `${names.slice(0, 3).join(', ')}${names.length > 3 ? `, and ${names.length - 3} more` : ''}`;
  if (unknown.length) return `the database was migrated by a newer version (${unknown.length} migration(s) this version does not ship: ${list(unknown)}); run that version, or restore a backup made by this one`;
  if (missing.length) return `${missing.length} migration(s) not applied (${list(missing)}); run "uniqverse migrate" or restart the hub`;
  return null;
}

/** The last migration this code ships: a database at it is on this version's schema. */
export const latestShippedMigration = migrations.at(-1)![0];

export const isShippedMigration = (name: string) => migrations.some(([shipped]) => shipped === name);

/** The newest migration applied to the database, in the order this code ships them (null: none, or none it knows). */
export async function latestAppliedMigration(db: Knex): Promise<string | null> {
  const applied = new Set<string>((await db('knex_migrations').select('name')).map((row: { name: string }) => row.name));
  return migrations.map(([name]) => name).findLast((name) => applied.has(name)) ?? null;
}
