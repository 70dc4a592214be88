import test from 'ava';
import { openDatabase } from '../../src/db/database.ts';
import { knownBrowserQueries } from '../../src/queries/known-browsers.ts';
import { totpQueries } from '../../src/queries/totp-factors.ts';
import { userColumns, userQueries } from '../../src/queries/users.ts';
import { testDatabase } from '../helpers/backend.ts';

test('the password step\'s prepared read names every column of users, so a column a migration adds must be added to it', async (t) => {
  const database = await openDatabase(await testDatabase(t));
  t.teardown(() => database.close());
  const { rows } = (await database.db.raw(
    "select column_name as name from information_schema.columns where table_schema = current_schema() and table_name = 'users' order by ordinal_position",
  )) as { rows: Array<{ name: string }> };
  t.deepEqual(
    [...userColumns].sort(),
    rows.map((row) => row.name).sort(),
    'userColumns (src/queries/users.ts) lists the columns of users: a prepared statement must not use * (its result may not change shape)',
  );
});

test('the password step\'s read: the person by email in any case, whether this browser signed in to them before, and whether they owe a second factor', async (t) => {
  const database = await openDatabase(await testDatabase(t));
  t.teardown(() => database.close());
  const { db } = database;
  const person = await userQueries.insert(db, { email: 'Ada@Example.com', name: 'Ada', password_hash: 'hash', is_admin: false, email_verified: true });
  t.is(await userQueries.signInFacts(db, 'nobody@example.com', null), undefined);

  const first = await userQueries.signInFacts(db, 'ada@EXAMPLE.com', 'browser-a');
  t.deepEqual(first, { user: await userQueries.byId(db, person.id), knownBrowser: false, owesSecondFactor: false });

  await knownBrowserQueries.see(db, { user_id: person.id, device_hash: 'browser-a', user_agent: null, ip: null });
  t.true((await userQueries.signInFacts(db, 'ada@example.com', 'browser-a'))!.knownBrowser);
  t.false((await userQueries.signInFacts(db, 'ada@example.com', 'browser-b'))!.knownBrowser);
  t.false((await userQueries.signInFacts(db, 'ada@example.com', null))!.knownBrowser, 'no cookie: not known, whatever the hash of nothing');

  await totpQueries.putUnconfirmed(db, person.id, 'sealed');
  t.false((await userQueries.signInFacts(db, 'ada@example.com', null))!.owesSecondFactor, 'an authenticator app not yet confirmed is no factor');
  await totpQueries.confirm(db, person.id, 1);
  t.true((await userQueries.signInFacts(db, 'ada@example.com', null))!.owesSecondFactor);
});
