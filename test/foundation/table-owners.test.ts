import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

// Every table has one owner: the one module in src/queries/ that writes it (and that every other
// module goes through). Reads may join other tables; writes may not spread. The lint rule
// (eslint.config.js, no-restricted-syntax) keeps knex out of the rest of src/.

const root = path.resolve(import.meta.dirname, '../..');
const queriesDir = path.join(root, 'src/queries');
const migrationsDir = path.join(root, 'migrations');

/** Modules named after what the table holds rather than the table itself. */
const namedOtherwise: Record<string, string> = { 'device-apps': 'devices', 'known-browsers': 'known_devices', 'daily-summaries': 'daily_summary_sends' };

// `directory`: the directory database of data residency (router.directory, src/db/regions.ts).
const knexNames = new Set(['db', 'trx', 'tx', 'knex', 'directory']);
const writeMethods = new Set(['insert', 'update', 'delete', 'del', 'merge', 'increment', 'decrement', 'truncate', 'upsert']);
// Not the "update" of "do update set" (an upsert's conflict clause) or of a row lock ("for update").
const rawWrite = /\b(?:insert\s+into|(?<!\b(?:do|for|for\s+no\s+key)\s+)update|delete\s+from|merge\s+into|truncate(?:\s+table)?)\s+"?([a-z_][a-z0-9_]*)"?/gi;

const parse = (file: string, text: string) => ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);

function visit(node: ts.Node, each: (node: ts.Node) => void): void {
  each(node);
  node.forEachChild((child) => visit(child, each));
}

const stringValue = (node: ts.Node | undefined) => (node && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) ? node.text : undefined);

/** The tables the migrations leave, in order: created in an `up`, unless a later `up` drops them. */
function migratedTables(migrations: Array<{ file: string; text: string }>): Set<string> {
  const tables = new Set<string>();
  for (const { file, text } of [...migrations].sort((a, b) => a.file.localeCompare(b.file))) {
    const up = parse(file, text).statements.find((s): s is ts.FunctionDeclaration => ts.isFunctionDeclaration(s) && s.name?.text === 'up');
    if (!up) continue;
    visit(up, (node) => {
      if (!ts.isCallExpression(node) || !ts.isPropertyAccessExpression(node.expression)) return;
      const method = node.expression.name.text;
      const table = stringValue(node.arguments[0]);
      if (!table) return;
      if (method === 'createTable') tables.add(table);
      if (method === 'dropTable' || method === 'dropTableIfExists') tables.delete(table);
    });
  }
  return tables;
}

interface ModuleWrites {
  /** Tables the module writes (insert, update, delete, upsert), through knex or in raw SQL. */
  writes: Set<string>;
  /** Knex calls whose table is not a literal, so nobody can tell whose it is. */
  unnamed: string[];
}

/** The methods chained onto `node`: `db('t').where(…).update(…)` from `db('t')` gives where, update. */
function chainedMethods(node: ts.Node): string[] {
  const methods: string[] = [];
  let current = node;
  while (ts.isPropertyAccessExpression(current.parent) && current.parent.expression === current) {
    methods.push(current.parent.name.text);
    const call = current.parent.parent;
    if (!ts.isCallExpression(call) || call.expression !== current.parent) break;
    current = call;
  }
  return methods;
}

/** The end of the chain that starts at `node` (the outermost call of it). */
function chainEnd(node: ts.Node): ts.Node {
  let current = node;
  while (ts.isPropertyAccessExpression(current.parent) && current.parent.expression === current && ts.isCallExpression(current.parent.parent) && current.parent.parent.expression === current.parent) {
    current = current.parent.parent;
  }
  return current;
}

const enclosingFunction = (node: ts.Node): ts.Node => {
  let current = node.parent;
  while (current && !ts.isFunctionLike(current) && !ts.isSourceFile(current)) current = current.parent;
  return current ?? node.getSourceFile();
};

const calleeName = (call: ts.CallExpression) =>
  ts.isIdentifier(call.expression) ? call.expression.text : ts.isPropertyAccessExpression(call.expression) ? call.expression.name.text : undefined;

function writesOf(file: string, text: string): ModuleWrites {
  const source = parse(file, text);
  const writes = new Set<string>();
  const unnamed: string[] = [];
  const note = (table: string, methods: string[]) => {
    if (methods.some((m) => writeMethods.has(m))) writes.add(table);
  };
  visit(source, (node) => {
    if (ts.isCallExpression(node) && knexNames.has(calleeName(node) ?? '')) {
      const name = stringValue(node.arguments[0]);
      if (name === undefined) {
        unnamed.push(`${file}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1} ${node.getText().slice(0, 60)}`);
        return;
      }
      const table = name.trim().split(/\s+/)[0]!;
      note(table, chainedMethods(node));
      // A builder kept in a variable and written through later in the same function (`held.update(…)`).
      const end = chainEnd(node);
      const declaration = end.parent;
      if (ts.isVariableDeclaration(declaration) && declaration.initializer === end && ts.isIdentifier(declaration.name)) {
        const variable = declaration.name;
        visit(enclosingFunction(declaration), (use) => {
          if (ts.isIdentifier(use) && use.text === variable.text && use !== variable) note(table, chainedMethods(use));
        });
      }
    }
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateExpression(node)) {
      for (const match of node.getText().matchAll(rawWrite)) writes.add(match[1]!.toLowerCase());
    }
  });
  return { writes, unnamed };
}

interface OwnerProblems {
  sharedTables: string[];
  unownedTables: string[];
  unknownTables: string[];
  modulesOwningNothing: string[];
  misnamedModules: string[];
  unnamedTables: string[];
}

/** What is wrong with who writes what (empty lists: every table has exactly one owner). */
function ownerProblems(tables: Set<string>, modules: Map<string, ModuleWrites>): OwnerProblems {
  const writers = new Map<string, string[]>();
  for (const [module, { writes }] of modules) for (const table of writes) writers.set(table, [...(writers.get(table) ?? []), module]);
  return {
    sharedTables: [...writers].filter(([table, by]) => tables.has(table) && by.length > 1).map(([table, by]) => `${table}: written by ${by.join(', ')}`),
    unownedTables: [...tables].filter((table) => !writers.has(table)).sort(),
    unknownTables: [...writers].filter(([table]) => !tables.has(table)).map(([table, by]) => `${table} (${by.join(', ')})`),
    modulesOwningNothing: [...modules].filter(([, { writes }]) => ![...writes].some((t) => tables.has(t))).map(([module]) => module),
    misnamedModules: [...modules]
      .filter(([module, { writes }]) => !writes.has(namedOtherwise[module] ?? module.replaceAll('-', '_')))
      .map(([module, { writes }]) => `${module}.ts writes ${[...writes].join(', ') || 'nothing'}`),
    unnamedTables: [...modules.values()].flatMap((m) => m.unnamed),
  };
}

const tsFiles = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.ts')).sort();

test('every table is written by exactly one module of src/queries/, named after it', (t) => {
  const tables = migratedTables(tsFiles(migrationsDir).filter((f) => f !== 'index.ts').map((file) => ({ file, text: readFileSync(path.join(migrationsDir, file), 'utf8') })));
  t.true(tables.has('users') && tables.has('webhook_attempts') && !tables.has('credential_failures'), 'the migrations were read');
  const modules = new Map(tsFiles(queriesDir).map((file) => [file.replace(/\.ts$/, ''), writesOf(file, readFileSync(path.join(queriesDir, file), 'utf8'))]));
  t.deepEqual(ownerProblems(tables, modules), {
    sharedTables: [],
    unownedTables: [],
    unknownTables: [],
    modulesOwningNothing: [],
    misnamedModules: [],
    unnamedTables: [],
  });
});

test('the check sees writes through knex chains, held builders and raw SQL, and reports a second writer', (t) => {
  const tables = migratedTables([
    { file: '001-a.ts', text: `export async function up(db) { await db.schema.createTable('users', () => {}); await db.schema.createTable('gone', () => {}); await db.schema.createTable('orders', () => {}); }` },
    { file: '002-b.ts', text: `export async function up(db) { await db.schema.dropTable('gone'); }\nexport async function down(db) { await db.schema.createTable('gone', () => {}); }` },
  ]);
  t.deepEqual([...tables].sort(), ['orders', 'users']);

  const users = writesOf('users.ts', `export const q = { rename: (db, id, name) => db('users').where({ id }).update({ name }), byId: (db, id) => db('users as u').join('orders as o', 'o.user_id', 'u.id').first() };`);
  t.deepEqual([...users.writes], ['users'], 'a join reads the other table; it does not own it');
  const held = writesOf('orders.ts', `export async function settle(trx, id) { const held = trx('orders').where({ id }); await held.update({ paid: true }); }`);
  t.deepEqual([...held.writes], ['orders']);
  const raw = writesOf('orders.ts', 'const sql = `/* ${mark} */ update "orders" set paid = true`; export const q = { list: (db) => db(\'orders\').select(\'id\') };');
  t.deepEqual([...raw.writes], ['orders']);

  const intruder = writesOf('billing.ts', `export const q = { pay: (db, id) => db.transaction((trx) => trx('orders').where({ id }).update({ paid: true })), wipe: (db) => db.raw('delete from users') };`);
  const problems = ownerProblems(tables, new Map([['users', users], ['orders', held], ['billing', intruder]]));
  t.deepEqual(problems.sharedTables.sort(), ['orders: written by orders, billing', 'users: written by users, billing']);
  t.deepEqual(problems.misnamedModules, ['billing.ts writes orders, users']);
  t.deepEqual(ownerProblems(tables, new Map([['users', users]])).unownedTables, ['orders']);
  t.deepEqual(writesOf('x.ts', `export const f = (db, table) => db(table).delete();`).unnamed, ['x.ts:1 db(table)']);
});
