import test, { type ExecutionContext } from 'ava';
import { realBackends } from '../helpers/backend.ts';
import { cliWorld, runCli, type CliRun } from '../helpers/cli.ts';
import { openDatabase } from '../../src/db/database.ts';

/** A person's mistake: exit code, nothing on stdout, exactly one line on stderr, and no stack trace. */
function assertOneLineError(t: ExecutionContext, run: CliRun, code: number, pattern: RegExp) {
  t.is(run.code, code, run.stderr);
  t.is(run.stdout, '');
  const lines = run.stderr.trimEnd().split('\n');
  t.is(lines.length, 1, run.stderr);
  t.regex(lines[0]!, /^uniqverse: /);
  t.regex(lines[0]!, pattern);
  t.notRegex(run.stderr, /\n\s+at /);
}

test('--help lists every command, and each command has its own help', async (t) => {
  const all = await runCli(null, ['--help']);
  t.is(all.code, 0);
  for (const name of ['users create', 'services create', 'clients create', 'entitlements grant', 'entitlements revoke', 'keys rotate', 'keys list', 'migrate', 'seed']) {
    t.true(all.stdout.includes(name), name);
  }
  const one = await runCli(null, ['clients', 'create', '--help']);
  t.is(one.code, 0);
  t.regex(one.stdout, /^Usage: uniqverse clients create --service S --type web\|native\|device\|extension/);
  t.regex(one.stdout, /--post-logout-redirect-uri/);
  const viaHelp = await runCli(null, ['help', 'keys', 'rotate']);
  t.is(viaHelp.code, 0);
  t.regex(viaHelp.stdout, /--activate-in SECONDS/);
  const asJson = await runCli(null, ['seed', '--help', '--json']);
  t.regex(JSON.parse(asJson.stdout).help, /^Usage: uniqverse seed/);
});

test('calling a command wrongly exits 2 with one line saying what is wrong, before touching the database', async (t) => {
  assertOneLineError(t, await runCli(null, ['frobnicate']), 2, /unknown command "frobnicate"/);
  assertOneLineError(t, await runCli(null, ['users', 'delete']), 2, /unknown command "users delete"/);
  assertOneLineError(t, await runCli(null, ['users', 'create', '--password', 'correct horse', '--name', 'Ada']), 2, /missing --email/);
  assertOneLineError(t, await runCli(null, ['users', 'create', '--email']), 2, /--email/);
  assertOneLineError(t, await runCli(null, ['users', 'create', '--email', 'a@b.test', '--pasword', 'x', '--name', 'A']), 2, /Unknown option '--pasword'/);
  assertOneLineError(t, await runCli(null, ['clients', 'create', '--service', 'vezepyweb', '--type', 'desktop', '--redirect-uri', 'http://localhost/cb']), 2, /--type must be one of web, native, device, extension/);
  assertOneLineError(t, await runCli(null, ['keys', 'rotate', '--activate-in', 'soon']), 2, /--activate-in must be a whole number of seconds/);
  assertOneLineError(t, await runCli(null, ['migrate', 'now']), 2, /Unexpected argument 'now'/);
  const bare = await runCli(null, []);
  t.is(bare.code, 2);
  t.regex(bare.stderr, /Usage: uniqverse <command>/);
});

test('bad values and unknown names found in the database give one line and a non-zero exit', async (t) => {
  t.timeout(240_000);
  const world = await cliWorld(t);
  assertOneLineError(
    t,
    await runCli(world, ['entitlements', 'grant', '--email', 'ada@example.test', '--service', 'vezepygame', '--tier', 'pro', '--expires', 'next tuesday', '--json']),
    2,
    /--expires: Use an ISO-8601 date-time/,
  );
  assertOneLineError(
    t,
    await runCli(world, ['clients', 'create', '--service', 'no-such-service', '--type', 'web', '--redirect-uri', 'http://localhost:8001/callback', '--json']),
    1,
    /No service with slug "no-such-service"/,
  );
  assertOneLineError(t, await runCli(world, ['users', 'create', '--email', 'not-an-email', '--password', 'short', '--name', 'Ada', '--json']), 2, /--email: .*; --password: /);
  assertOneLineError(t, await runCli(world, ['services', 'create', '--slug', 'ok-slug', '--name', 'OK', '--url', 'ftp://example.test', '--json']), 2, /--url: Enter an http\(s\) URL/);

  // Without --json the configuration warnings come first, but the error is still one line and no stack.
  const human = await runCli(world, ['entitlements', 'grant', '--email', 'nobody@example.test', '--service', 'vezepygame', '--tier', 'pro']);
  t.is(human.code, 1);
  t.regex(human.stderr.trimEnd().split('\n').at(-1)!, /^uniqverse: No user with email nobody@example.test/);
  t.notRegex(human.stderr, /\n\s+at /);
});

test('a CLI with another master secret than the one that sealed the keys stops before writing', async (t) => {
  t.timeout(240_000);
  const world = await cliWorld(t);
  t.is((await runCli(world, ['keys', 'rotate', '--activate-in', '0', '--json'])).code, 0);
  const stranger = { env: { ...world.env, UNIQVERSE_SECRET: 'another-secret-of-at-least-32-characters' } };
  const args = ['clients', 'create', '--service', 'vezepyweb', '--type', 'web', '--redirect-uri', 'http://localhost:8001/callback', '--json'];
  assertOneLineError(t, await runCli(stranger, ['keys', 'rotate', '--json']), 1, /UNIQVERSE_SECRET: it does not open the signing keys in this database/);
  assertOneLineError(t, await runCli(stranger, args), 1, /UNIQVERSE_SECRET: it does not open the signing keys/);
  const listed = await runCli(world, ['keys', 'list', '--json']);
  t.is(JSON.parse(listed.stdout).keys.length, 6, 'the refused rotation added nothing');
});

test('a bad configuration variable is named in one line', async (t) => {
  assertOneLineError(t, await runCli({ env: { PORT: 'eighty', UNIQVERSE_SECRET: 'x'.repeat(40) } }, ['migrate']), 1, /PORT: /);
});

(realBackends ? test.skip : test)('the embedded database held by another process (a running hub) is reported, not waited on', async (t) => {
  const world = await cliWorld(t);
  const held = await openDatabase(world.database);
  t.teardown(() => held.close());
  // Really open it, as a running hub has (knex-pglite starts PGlite at once but closes it only once it was used).
  await held.db.raw('select 1');
  assertOneLineError(t, await runCli(world, ['migrate', '--json']), 1, new RegExp(`in use by process ${process.pid}`));
});
