import test from 'ava';
import type { Knex } from 'knex';
import { openDatabase } from '../../src/db/database.ts';
import { writeTogether } from '../../src/db/write-together.ts';
import { realBackends, testDatabase } from '../helpers/backend.ts';

test('writes sent together are one statement: each one\'s RETURNING comes back by name, and each sees the tables as they were before', async (t) => {
  const database = await openDatabase(await testDatabase(t, { empty: true }));
  t.teardown(() => database.close());
  const { db } = database;
  await db.raw('create table notes (id int primary key, body text)');
  await db.raw('create table tallies (name text primary key, n int)');
  await db('notes').insert({ id: 1, body: 'first' });
  const statements: string[] = [];
  db.on('query', (query: { sql: string }) => statements.push(query.sql));

  const result = await writeTogether(db, {
    note: db('notes').insert({ id: 2, body: 'with a ? and \'quotes\'' }).returning(['id', 'body']),
    tally: db.raw('insert into tallies (name, n) values (?, (select count(*) from notes)) returning name, n', ['notes']),
    emptied: db('notes').where({ id: 99 }).del().returning('id'),
  });
  t.is(statements.length, 1);
  t.deepEqual(result.note, [{ id: 2, body: 'with a ? and \'quotes\'' }]);
  t.deepEqual(result.tally, [{ name: 'notes', n: 1 }], 'the count is of the notes before the statement');
  t.deepEqual(result.emptied, []);
  t.is(Number((await db('notes').count('* as n').first())!.n), 2);
  await t.throwsAsync(writeTogether(db, { 'Bad-Name': db('notes').insert({ id: 3 }).returning('id') }), { message: /plain lower-case name/ });
});

const onPostgres = realBackends ? test : test.skip;

onPostgres('writes sent together can be prepared: the connection keeps one statement for their text, and the answers are those of the statement sent as it is', async (t) => {
  const database = await openDatabase(await testDatabase(t, { empty: true }));
  t.teardown(() => database.close());
  const { db } = database;
  await db.raw('create table notes (id int primary key, body text)');
  const write = (trx: Knex, id: number) => ({
    note: trx('notes').insert({ id, body: `note ${id}` }).returning(['id', 'body']),
    counted: trx.raw('select count(*)::int as n from notes where id < ?', [id]),
  });
  const answers = await db.transaction(async (trx) => {
    const first = await writeTogether(trx, write(trx, 1), { prepared: true });
    const second = await writeTogether(trx, write(trx, 2), { prepared: true });
    const { rows } = (await trx.raw("select name from pg_prepared_statements where name like 'uniqverse\\_together\\_%'")) as { rows: unknown[] };
    t.is(rows.length, 1, 'one prepared statement for both: the same text');
    return [first, second];
  });
  t.deepEqual(answers, [
    { note: [{ id: 1, body: 'note 1' }], counted: [{ n: 0 }] },
    { note: [{ id: 2, body: 'note 2' }], counted: [{ n: 1 }] },
  ]);
  t.deepEqual(await writeTogether(db, write(db, 3)), { note: [{ id: 3, body: 'note 3' }], counted: [{ n: 2 }] });
});
