import test from 'ava';
import type { Knex } from 'knex';
import { openDatabase } from '../../src/db/database.ts';
import { retryOnConflict } from '../../src/db/retry-on-conflict.ts';
import { isDatabaseUnavailable, isTransactionConflict } from '../../src/db/unavailable.ts';
import { realBackends, testDatabase } from '../helpers/backend.ts';

const conflict = (code: string) => Object.assign(new Error('the transaction was ended'), { code });

test('a deadlock or a serialization failure is a conflict, and answered as busy (503, Retry-After), found along the causes too', (t) => {
  for (const code of ['40P01', '40001']) {
    t.true(isTransactionConflict(conflict(code)), code);
    t.true(isDatabaseUnavailable(conflict(code)), code);
    t.true(isTransactionConflict(new Error('wrapped', { cause: conflict(code) })), `${code} as a cause`);
  }
  for (const code of ['23505', '42P01', '22P02']) t.false(isTransactionConflict(conflict(code)), code);
});

test('retryOnConflict runs a transaction again after a conflict, gives up after its attempts, and passes any other error at once', async (t) => {
  let runs = 0;
  t.is(await retryOnConflict(async () => (++runs < 3 ? Promise.reject(conflict('40P01')) : 'done')), 'done');
  t.is(runs, 3);

  runs = 0;
  const lasting = await t.throwsAsync(retryOnConflict(async () => (runs++, Promise.reject(conflict('40001'))), 2));
  t.is((lasting as Error & { code: string }).code, '40001');
  t.is(runs, 2);

  runs = 0;
  await t.throwsAsync(retryOnConflict(async () => (runs++, Promise.reject(conflict('23505')))), { message: 'the transaction was ended' });
  t.is(runs, 1, 'a unique violation is not run again');
});

// Two connections at once: the embedded database has one.
(realBackends ? test : test.skip)('on Postgres, of two transactions that lock two rows in opposite orders, the one ended by the deadlock is run again and both commit', async (t) => {
  const database = await openDatabase(await testDatabase(t, { empty: true }));
  t.teardown(() => database.close());
  const db = database.db;
  await db.schema.createTable('pair', (table) => {
    table.integer('id').primary();
    table.integer('n').notNullable();
  });
  await db('pair').insert([{ id: 1, n: 0 }, { id: 2, n: 0 }]);

  // Each holds its first row until the other holds its own, then asks for the other's.
  let holding = 0;
  const bothHold = () => new Promise<void>((resolve) => {
    holding++;
    const check = setInterval(() => holding >= 2 && (clearInterval(check), resolve()), 5);
  });
  const cross = (first: number, second: number) => (trx: Knex.Transaction) =>
    (async () => {
      await trx('pair').where({ id: first }).increment('n', 1);
      await bothHold();
      await trx('pair').where({ id: second }).increment('n', 1);
    })();
  let runs = 0;
  await Promise.all([
    retryOnConflict(() => (runs++, db.transaction(cross(1, 2)))),
    retryOnConflict(() => (runs++, db.transaction(cross(2, 1)))),
  ]);
  t.is(runs, 3, 'one of them met the deadlock and ran again');
  t.deepEqual(await db('pair').orderBy('id').pluck('n'), [2, 2]);
});
