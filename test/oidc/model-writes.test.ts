import { randomBytes } from 'node:crypto';
import test, { type ExecutionContext } from 'ava';
import type { Knex } from 'knex';
import { openDatabase } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { ModelWrites, type ModelInsert } from '../../src/oidc/model-writes.ts';
import { testDatabase } from '../helpers/backend.ts';

// The provider's saves and consumes go to the database in groups (src/oidc/model-writes.ts):
// these check on a real database that grouping changes what each caller gets in no way.

async function migrated(t: ExecutionContext): Promise<Knex> {
  const database = await openDatabase(await testDatabase(t));
  t.teardown(() => database.close());
  await migrateToLatest(database.db);
  return database.db;
}

const row = (model: string, id: string, payload: Record<string, unknown> = {}): ModelInsert => ({
  model,
  id,
  payload: { jti: id, kind: model, ...payload },
  grant_id: 'grant-1',
  user_code: null,
  uid: null,
  account_id: 'account-1',
  expires_at: new Date(Date.now() + 60_000),
});

/** Counts the statements that write oidc_models while `run` runs. */
async function statementsDuring(db: Knex, run: () => Promise<unknown>): Promise<number> {
  let count = 0;
  const onQuery = (query: { sql?: string }) => void (/^\/\*.*\*\/ (insert into|update) "oidc_models"/.test(query.sql ?? '') && count++);
  db.on('query', onQuery);
  try {
    await run();
  } finally {
    db.off('query', onQuery);
  }
  return count;
}

test('saves made at the same time share a statement, and each row holds what its caller wrote', async (t) => {
  const db = await migrated(t);
  const writes = new ModelWrites(db);
  const ids = Array.from({ length: 20 }, () => randomBytes(8).toString('hex'));
  let inserted: boolean[] = [];
  const statements = await statementsDuring(db, async () => {
    inserted = await Promise.all(ids.map((id, index) => writes.upsert(row(index % 2 ? 'AccessToken' : 'RefreshToken', id, { n: index }))));
  });
  t.deepEqual(inserted, ids.map(() => true));
  t.true(statements < ids.length, `${statements} statements for ${ids.length} saves`);
  const stored = await db('oidc_models').whereIn('id', ids).select('model', 'id', 'payload');
  t.is(stored.length, ids.length);
  for (const [index, id] of ids.entries()) {
    const found = stored.find((r) => r.id === id);
    t.is(found?.model, index % 2 ? 'AccessToken' : 'RefreshToken');
    t.is(found?.payload.n, index);
  }

  t.false(await writes.upsert(row('AccessToken', ids[1]!, { n: 'again' })), 'a replaced row is not new');
  t.is((await db('oidc_models').where({ model: 'AccessToken', id: ids[1] }).first('payload')).payload.n, 'again');
});

test('two saves of one row at the same time both land, one after the other', async (t) => {
  const db = await migrated(t);
  const writes = new ModelWrites(db);
  let results: boolean[] = [];
  const statements = await statementsDuring(db, async () => {
    results = await Promise.all([writes.upsert(row('Session', 's1', { n: 1 })), writes.upsert(row('Session', 's1', { n: 2 }))]);
  });
  t.deepEqual(results, [true, false]);
  t.is(statements, 2, 'one statement each: in one, Postgres would refuse to touch the row twice');
  t.is((await db('oidc_models').where({ model: 'Session', id: 's1' }).first('payload')).payload.n, 2);
});

test('of many consumes of one token at the same time exactly one wins; other tokens consumed alongside are not affected', async (t) => {
  const db = await migrated(t);
  const writes = new ModelWrites(db);
  await Promise.all(['spent', 'other-1', 'other-2'].map((id) => writes.upsert(row('RefreshToken', id))));
  await writes.upsert(row('AuthorizationCode', 'spent'));
  const results = await Promise.all([
    ...Array.from({ length: 10 }, () => writes.consume('RefreshToken', 'spent')),
    writes.consume('RefreshToken', 'other-1'),
    writes.consume('RefreshToken', 'other-2'),
    writes.consume('RefreshToken', 'missing'),
  ]);
  t.is(results.slice(0, 10).filter(Boolean).length, 1);
  t.deepEqual(results.slice(10), [true, true, false]);
  t.false(await writes.consume('RefreshToken', 'spent'), 'a spent token stays spent');
  const consumed = await db('oidc_models').whereNotNull('consumed_at').orderBy(['model', 'id']).select('model', 'id');
  t.deepEqual(consumed, [
    { model: 'RefreshToken', id: 'other-1' },
    { model: 'RefreshToken', id: 'other-2' },
    { model: 'RefreshToken', id: 'spent' },
  ], 'the code with the same id (another model) is untouched');
});

test('a save the database refuses fails only its own caller; the others in its group are written', async (t) => {
  const db = await migrated(t);
  const writes = new ModelWrites(db);
  // jsonb refuses the NUL character, so this payload cannot be stored.
  const results = await Promise.allSettled([writes.upsert(row('AccessToken', 'good-1')), writes.upsert(row('AccessToken', 'bad', { name: 'a\u0000b' })), writes.upsert(row('AccessToken', 'good-2'))]);
  t.deepEqual(results.map((result) => result.status), ['fulfilled', 'rejected', 'fulfilled']);
  t.deepEqual((await db('oidc_models').orderBy('id').pluck('id')), ['good-1', 'good-2']);
});
