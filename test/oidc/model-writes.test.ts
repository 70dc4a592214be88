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
  const onQuery = (query: { sql?: string }) => void (/^\/\*.*\*\/ [\s\S]*(insert into|update) "oidc_models"/.test(query.sql ?? '') && count++);
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

test('a session saved with its sighting writes both in one statement, the sighting at most once a minute, and a person gone costs the save nothing', async (t) => {
  const db = await migrated(t);
  const writes = new ModelWrites(db);
  const [person] = await db('users').insert({ email: 'seen@example.test', name: 'Seen', email_verified: true }).returning('id');
  const session = (id: string, accountId: string, userAgent: string): ModelInsert => ({ ...row('Session', id), grant_id: null, uid: `uid-${id}`, account_id: accountId, sighting: { user_agent: userAgent, ip: '192.0.2.7' } });

  t.is(await statementsDuring(db, () => Promise.all([writes.upsert(session('s1', person.id, 'first browser')), writes.upsert(row('AccessToken', 'at-1'))])), 1);
  const first = await db('session_sightings').where({ session_uid: 'uid-s1' }).first();
  t.like(first, { user_id: person.id, user_agent: 'first browser', ip: '192.0.2.7' });
  t.truthy(await db('oidc_models').where({ model: 'Session', id: 's1' }).first());

  // Seen again within the minute: the row stands as it was (reads stay cheap, as sightingQueries.record).
  await writes.upsert(session('s1', person.id, 'second browser'));
  t.is((await db('session_sightings').where({ session_uid: 'uid-s1' }).first()).user_agent, 'first browser');
  await db('session_sightings').where({ session_uid: 'uid-s1' }).update({ last_seen_at: db.raw("now() - interval '2 minutes'") });
  await writes.upsert(session('s1', person.id, 'second browser'));
  t.is((await db('session_sightings').where({ session_uid: 'uid-s1' }).first()).user_agent, 'second browser');

  // Of a person deleted meanwhile: the session is saved, no sighting is.
  t.true(await writes.upsert(session('s2', '00000000-0000-4000-8000-000000000000', 'gone')));
  t.truthy(await db('oidc_models').where({ model: 'Session', id: 's2' }).first());
  t.falsy(await db('session_sightings').where({ session_uid: 'uid-s2' }).first());
});
