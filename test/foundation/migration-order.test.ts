import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { migrations } from '../../migrations/index.ts';
import { openDatabase } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { testDatabase } from '../helpers/backend.ts';

/**
 * The migrations that have shipped, in the order every database has applied them, with a hash
 * of each file. A database records only names: renaming, reordering or editing a shipped
 * migration leaves existing databases on a schema no fresh one has. A new migration goes at the
 * end of migrations/index.ts and of this list. (080/081 ran before 060–064, and 024 after 090:
 * that order is history now, and stays.)
 */
const shipped: Array<[name: string, sha256: string]> = [
  ['001-users', '000b99729333b9fc'],
  ['002-services', 'a77b9cda409b88c6'],
  ['003-clients', '2ddf510e6db5c46f'],
  ['004-entitlements', 'cbb2063cf0dde87c'],
  ['005-oidc-models', '3ad552974c042677'],
  ['006-signing-keys', '9b295965e3342083'],
  ['007-outbox', '85f94e2707aa89f6'],
  ['020-audit-log', '73473292764a45bd'],
  ['021-email-tokens', 'd32d8bced97a3112'],
  ['022-known-devices', '4f046ae81060cf0a'],
  ['023-credential-notice-cursor', 'da51c4949110ff7a'],
  ['040-passkeys', '2a1e1bc29c101377'],
  ['041-webauthn-challenges', 'f6a5fa75eba5ac15'],
  ['042-totp-factors', 'e6f5d46c74920144'],
  ['043-recovery-codes', 'c6ec44a70395e2c1'],
  ['044-app-passwords', '46d8744958c05a4f'],
  ['045-pending-second-factors', 'db961548c1ccd51d'],
  ['046-credential-failures', 'b9c91e8437736f2a'],
  ['047-drop-credential-failures', '5d4d34331ff0ba58'],
  ['080-session-sightings', '114e28f45555a232'],
  ['081-service-consents', 'c00458cb0ceb7bca'],
  ['060-outbox-relay', 'eca44818d941a520'],
  ['061-event-tasks', '6b8bcfb7ce186e2b'],
  ['062-webhooks', '5938b2374289b2e5'],
  ['063-webhook-deliveries', '86a0221b6cef71c7'],
  ['064-devices', '87f7111923a8e22a'],
  ['090-change-notices', '2fc34c4ec85e00f6'],
  ['024-email-change-tokens', 'eb6711d482b043b6'],
  ['100-service-rate-limits', '2db315288cd55996'],
  ['110-outbox-audience', '16083eb621770460'],
  ['111-audit-chain', '8e579cb00ba5798f'],
];

const folder = path.resolve(import.meta.dirname, '../../migrations');
const hashOf = (name: string) => createHash('sha256').update(readFileSync(path.join(folder, `${name}.ts`))).digest('hex').slice(0, 16);

test('the shipped migrations keep their names, their order and their content; new ones come after them', (t) => {
  const names = migrations.map(([name]) => name);
  t.deepEqual(names.slice(0, shipped.length), shipped.map(([name]) => name), 'a shipped migration was renamed, removed or moved: add a new one at the end instead');
  for (const [name, sha256] of shipped) t.is(hashOf(name), sha256, `migrations/${name}.ts changed after it shipped: write a new migration instead`);
  const later = names.slice(shipped.length);
  t.deepEqual(later, [...later].sort(), 'migrations added after the shipped ones run in the order of their names');
  for (const name of later) t.true(name > shipped.at(-1)![0], `${name} sorts before the last shipped migration: number it after ${shipped.at(-1)![0]}`);
});

test('every file in migrations/ is listed in migrations/index.ts, once', (t) => {
  const files = readdirSync(folder).filter((file) => file !== 'index.ts').map((file) => file.replace(/\.ts$/, '')).sort();
  const names = migrations.map(([name]) => name);
  t.deepEqual([...names].sort(), files);
  t.is(new Set(names).size, names.length);
});

test('a fresh database applies them in exactly that order', async (t) => {
  const database = await openDatabase(await testDatabase(t, { empty: true }));
  t.teardown(() => database.close());
  await migrateToLatest(database.db);
  const applied: Array<{ name: string }> = await database.db('knex_migrations').orderBy('id').select('name');
  t.deepEqual(applied.map((row) => row.name), migrations.map(([name]) => name));
});
