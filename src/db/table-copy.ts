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
