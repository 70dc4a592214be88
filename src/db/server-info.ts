import type { Knex } from 'knex';

/** Answers when the database does (the readiness check). */
export async function ping(db: Knex): Promise<void> {
  await db.raw('select 1');
}

/** What the server calls itself, e.g. "PostgreSQL 17.4 on x86_64-pc-linux-gnu, …". */
export async function serverVersion(db: Knex): Promise<string> {
  const result = (await db.raw('select version() as v')) as { rows: Array<{ v: string }> };
  return result.rows[0]?.v ?? '';
}

/** How many migrations have run, or null when their table cannot be read. */
export async function appliedMigrationCount(db: Knex): Promise<number | null> {
  const row = await db('knex_migrations').count<{ n: string }>({ n: '*' }).first().catch(() => undefined);
  return row ? Number(row.n) : null;
}
