import type { Knex } from 'knex';

type Part = Knex.QueryBuilder | Knex.Raw;

/**
 * Sends independent writes as one statement, each a data-modifying CTE, and gives back what each
 * one's RETURNING gave, by the name it was passed under: one round trip instead of one per write.
 *
 * Every part must end in RETURNING. The parts run against one snapshot: each sees the tables as
 * they were before the statement and none sees another's change (Postgres' rule for writable
 * CTEs), so only writes that do not depend on each other belong together.
 */
export async function writeTogether<Name extends string>(db: Knex, parts: Record<Name, Part>): Promise<Record<Name, Array<Record<string, unknown>>>> {
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
  const { rows }: { rows: Array<Record<Name, Array<Record<string, unknown>>>> } = await db.raw(`with ${ctes.join(', ')} select ${results.join(', ')}`, bindings as Knex.RawBinding[]);
  return rows[0]!;
}
