import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { directStatement } from './direct-statement.ts';

type Part = Knex.QueryBuilder | Knex.Raw;

export interface WriteTogetherOptions {
  /**
   * Prepared once per connection, under a name made from its text (directStatement): planning the
   * sign-in's three writes cost PostgreSQL 200 µs each time. Only for a caller whose parts' text
   * is the same whatever its values (no list of rows of varying length): each text is a statement
   * each connection keeps.
   */
  prepared?: boolean;
}

/**
 * Sends independent writes as one statement, each a data-modifying CTE, and gives back what each
 * one's RETURNING gave, by the name it was passed under: one round trip instead of one per write.
 *
 * Every part must end in RETURNING. The parts run against one snapshot: each sees the tables as
 * they were before the statement and none sees another's change (Postgres' rule for writable
 * CTEs), so only writes that do not depend on each other belong together.
 */
export async function writeTogether<Name extends string>(db: Knex, parts: Record<Name, Part>, { prepared = false }: WriteTogetherOptions = {}): Promise<Record<Name, Array<Record<string, unknown>>>> {
  const names = Object.keys(parts) as Name[];
  if (!names.length) return {} as Record<Name, Array<Record<string, unknown>>>;
  const bindings: unknown[] = [];
  const ctes = names.map((name) => {
    if (!/^[a-z][a-z_]*$/.test(name)) throw new TypeError(`writeTogether: "${name}" is not a plain lower-case name`);
    const compiled = parts[name].toSQL();
    bindings.push(...compiled.bindings);
    return `${name} as (${compiled.sql})`;
  });
  const results = names.map((name) => `(select coalesce(json_agg(${name}), '[]'::json) from ${name}) as ${name}`);
  const statement = db.raw(`with ${ctes.join(', ')} select ${results.join(', ')}`, bindings as Knex.RawBinding[]);
  if (!prepared) {
    const { rows }: { rows: Array<Record<Name, Array<Record<string, unknown>>>> } = await statement;
    return rows[0]!;
  }
  const native = statement.toSQL().toNative();
  const name = `uniqverse_together_${createHash('sha256').update(native.sql).digest('hex').slice(0, 24)}`;
  const rows = await directStatement<Record<Name, Array<Record<string, unknown>>>>(db, native.sql, name)([...native.bindings]);
  return rows[0]!;
}
