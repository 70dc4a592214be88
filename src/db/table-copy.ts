import type { Knex } from 'knex';

const primaryKeyOf = async (db: Knex, table: string): Promise<string[]> =>
  (
    await db.raw(
      `select a.attname as name from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
       where i.indrelid = ?::regclass and i.indisprimary order by array_position(i.indkey, a.attnum)`,
      [table],
    )
  ).rows.map((row: { name: string }) => row.name);

const columnsOf = async (db: Knex, table: string): Promise<string[]> =>
  (await db.raw('select attname as name from pg_attribute where attrelid = ?::regclass and attnum > 0 and not attisdropped order by attnum', [table])).rows.map((row: { name: string }) => row.name);

/**
 * Makes `tables` in `to` hold exactly what they hold in `from`, in one transaction of `to`: rows
 * are inserted or updated (only those that differ, so unchanged rows fire no triggers), then the
 * rows `from` no longer has are deleted, children first. `tables` lists parents before children.
 * Each table goes across as one JSON document (Postgres' own row encoding both ways). Returns
 * how many rows were written or deleted.
 */
export async function copyTables(from: Knex, to: Knex, tables: readonly string[]): Promise<number> {
  const documents = new Map<string, string>();
  for (const table of tables) {
    documents.set(table, (await from.raw('select coalesce(json_agg(t), \'[]\')::text as rows from ?? t', [table])).rows[0].rows as string);
  }
  return to.transaction(async (trx) => {
    let changed = 0;
    for (const table of tables) {
      const key = await primaryKeyOf(trx, table);
      const columns = await columnsOf(trx, table);
      const set = columns.filter((c) => !key.includes(c)).map((c) => `"${c}" = excluded."${c}"`).join(', ');
      const keyList = key.map((c) => `"${c}"`).join(', ');
      const upsert = await trx.raw(
        `insert into ?? select * from json_populate_recordset(null::??, ?::json)
         on conflict (${keyList}) do update set ${set} where (??.*) is distinct from (excluded.*)`,
        [table, table, documents.get(table)!, table],
      );
      changed += upsert.rowCount ?? 0;
    }
    for (const table of [...tables].reverse()) {
      const key = (await primaryKeyOf(trx, table)).map((c) => `"${c}"`).join(', ');
      const removed = await trx.raw(`delete from ?? where (${key}) not in (select ${key} from json_populate_recordset(null::??, ?::json))`, [table, table, documents.get(table)!]);
      changed += removed.rowCount ?? 0;
    }
    return changed;
  });
}

/** Columns filled from a sequence (`bigserial`): a copy leaves them to the receiving table's own sequence. */
const serialColumnsOf = async (db: Knex, table: string): Promise<string[]> =>
  (await db.raw(`select attname as name from pg_attribute a join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
    where a.attrelid = ?::regclass and pg_get_expr(d.adbin, d.adrelid) like 'nextval(%'`, [table])).rows.map((row: { name: string }) => row.name);

/**
 * Copies the rows of `table` whose `column` is `value` from `from` into `to` (a transaction of the
 * receiving database), through Postgres' own JSON encoding; sequence-filled columns get new values
 * there (nothing refers to them across the copied tables). Returns how many rows were copied.
 */
export async function copyRowsWhere(from: Knex, to: Knex, table: string, column: string, value: string): Promise<number> {
  const document = (await from.raw('select coalesce(json_agg(t), \'[]\')::text as rows from ?? t where ?? = ?', [table, column, value])).rows[0].rows as string;
  if (document === '[]') return 0;
  const serial = new Set(await serialColumnsOf(to, table));
  const columns = (await columnsOf(to, table)).filter((c) => !serial.has(c)).map((c) => `"${c}"`).join(', ');
  const inserted = await to.raw(`insert into ?? (${columns}) select ${columns} from json_populate_recordset(null::??, ?::json)`, [table, table, document]);
  return inserted.rowCount ?? 0;
}

/**
 * The tables whose rows belong to a row of `table` (a foreign key to it, and the column holding
 * it), parents before children: where one of them also refers to another (a device's push
 * subscriptions), the referred one comes first.
 */
export async function tablesReferencing(db: Knex, table: string): Promise<Array<{ table: string; column: string }>> {
  const direct: Array<{ table: string; column: string }> = (
    await db.raw(
      `select c.conrelid::regclass::text as table, a.attname as column from pg_constraint c
       join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
       where c.contype = 'f' and c.confrelid = ?::regclass and cardinality(c.conkey) = 1 order by 1`,
      [table],
    )
  ).rows;
  const names = new Set(direct.map((d) => d.table));
  const edges: Array<{ child: string; parent: string }> = (
    await db.raw(`select conrelid::regclass::text as child, confrelid::regclass::text as parent from pg_constraint where contype = 'f'`)
  ).rows.filter((e: { child: string; parent: string }) => names.has(e.child) && names.has(e.parent) && e.child !== e.parent);
  const ordered: Array<{ table: string; column: string }> = [];
  const placed = new Set<string>();
  while (ordered.length < direct.length) {
    const ready = direct.filter((d) => !placed.has(d.table) && edges.every((e) => e.child !== d.table || placed.has(e.parent)));
    if (!ready.length) throw new Error(`the tables referring to ${table} refer to each other in a circle`);
    for (const d of ready) {
      ordered.push(d);
      placed.add(d.table);
    }
  }
  return ordered;
}
