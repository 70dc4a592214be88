import test from 'ava';
import { openDatabase } from '../../src/db/database.ts';
import { directStatement } from '../../src/db/direct-statement.ts';
import { userQueries } from '../../src/queries/users.ts';
import { realBackends, testDatabase } from '../helpers/backend.ts';

type Seen = { sql: string; __knexTxId?: string };

test('a direct statement given a transaction runs on its connection, and what listens to the transaction and to the database both see it', async (t) => {
  const database = await openDatabase(await testDatabase(t, { empty: true }));
  t.teardown(() => database.close());
  const { db } = database;
  await db.raw('create table notes (id int primary key, body text)');
  const onDatabase: Seen[] = [];
  db.on('query', (query: Seen) => onDatabase.push(query));
  const onTransaction: Seen[] = [];
  const count = 'select count(*)::int as n from notes';
  const insert = 'insert into notes (id, body) values ($1, $2) returning id';

  const rollback = new Error('roll back');
  const failed = await t.throwsAsync(
    db.transaction(async (trx) => {
      trx.on('query', (query: Seen) => onTransaction.push(query));
      await trx('notes').insert({ id: 1, body: 'through knex' });
      // Prepared, and sent twice: the second time the connection has it already.
      for (const _ of [1, 2]) t.deepEqual(await directStatement<{ n: number }>(trx, count, 'test_count_notes')([]), [{ n: 1 }], 'it sees the transaction\'s own write');
      t.deepEqual(await directStatement<{ id: number }>(trx, insert)([2, 'direct']), [{ id: 2 }]);
      throw rollback;
    }),
  );
  t.is(failed, rollback);
  t.deepEqual(await directStatement<{ n: number }>(db, count)([]), [{ n: 0 }], 'its write rolled back with the transaction');

  const direct = (seen: Seen[]) => seen.filter((query) => query.sql === count || query.sql === insert);
  t.is(direct(onTransaction).length, 3);
  const inTransaction = direct(onDatabase).filter((query) => query.__knexTxId);
  t.is(inTransaction.length, 3, 'the database\'s listeners see the statements sent in its transaction, marked as such');
  t.true(inTransaction.every((query) => query.__knexTxId === onDatabase.find((q) => q.sql.startsWith('insert into "notes"'))?.__knexTxId));
});

const onPostgres = realBackends ? test : test.skip;

onPostgres('on PostgreSQL the password step\'s read is prepared, once per connection', async (t) => {
  const database = await openDatabase(await testDatabase(t));
  t.teardown(() => database.close());
  const prepared = await database.db.transaction(async (trx) => {
    for (const _ of [1, 2]) await userQueries.signInFacts(trx, 'nobody@example.com', null);
    const { rows } = (await trx.raw("select name from pg_prepared_statements where name like 'uniqverse\\_%' order by name")) as { rows: Array<{ name: string }> };
    return rows.map((row) => row.name);
  });
  t.deepEqual(prepared, ['uniqverse_sign_in_facts']);
});
