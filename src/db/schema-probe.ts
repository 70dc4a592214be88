import type { Knex } from 'knex';

// Areas that landed after others asked whether their tables were there yet (devices). Every
// migration now runs before the hub serves, so these always find them; kept so that the
// statements sent stay what they were.

/** Tables found, per database: only a found table is remembered. */
const knownTables = new WeakMap<Knex, Set<string>>();

/** Whether the table exists (asked once per database, once it does). */
export async function tableExists(db: Knex, table: string): Promise<boolean> {
  let known = knownTables.get(db);
  if (!known) knownTables.set(db, (known = new Set()));
  if (known.has(table)) return true;
  if (!(await db.schema.hasTable(table))) return false;
  known.add(table);
  return true;
}

/** Which of these columns the table has, or null when there is no such table. Asked each time. */
export async function presentColumns(db: Knex, table: string, columns: string[]): Promise<string[] | null> {
  if (!(await db.schema.hasTable(table))) return null;
  return (await Promise.all(columns.map(async (c) => ((await db.schema.hasColumn(table, c)) ? c : null)))).filter((c): c is string => c !== null);
}
