import test from 'ava';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openDatabase } from '../../src/db/database.ts';
import { DatabaseInUseError } from '../../src/db/directory-lock.ts';

test('the embedded database refuses a second opener with a message that says what to do', async (t) => {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'uq-lock-')), 'pglite');
  const first = await openDatabase({ kind: 'pglite', dir });
  t.teardown(() => first.close());
  await first.db.raw('select 1');
  // Another process holding the lock looks the same as this one: simulate with a live pid that is not ours.
  const { writeFileSync } = await import('node:fs');
  writeFileSync(`${dir}.lock`, String(process.ppid));
  const error = await t.throwsAsync(openDatabase({ kind: 'pglite', dir }), { instanceOf: DatabaseInUseError });
  t.regex(error!.message, /in use by process \d+/);
  t.regex(error!.message, /DATABASE_URL/);
});

test('a stale lock left by a dead process is taken over', async (t) => {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'uq-lock-')), 'pglite');
  const { mkdirSync, writeFileSync } = await import('node:fs');
  mkdirSync(dir, { recursive: true });
  // The pid of a process that has certainly exited.
  const { spawnSync } = await import('node:child_process');
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
  writeFileSync(`${dir}.lock`, dead);
  const database = await openDatabase({ kind: 'pglite', dir });
  t.teardown(() => database.close());
  const { rows } = await database.db.raw('select 1 as one');
  t.is(rows[0].one, 1);
});

test('a delete gives the number of rows it removed, as on PostgreSQL, inside a transaction or not', async (t) => {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'uq-del-')), 'pglite');
  const { db, close } = await openDatabase({ kind: 'pglite', dir });
  t.teardown(() => close());
  await db.raw('create table things (id int primary key)');
  await db('things').insert([{ id: 1 }, { id: 2 }, { id: 3 }]);
  t.is(await db('things').where('id', '<', 3).delete(), 2);
  t.is(await db.transaction((trx) => trx('things').where({ id: 99 }).del()), 0);
  t.deepEqual(await db('things').where({ id: 3 }).delete().returning('id'), [{ id: 3 }]);
  t.is(await db('things').update({ id: 4 }), 0);
});
