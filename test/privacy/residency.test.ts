import test, { type ExecutionContext } from 'ava';
import knexFactory, { type Knex } from 'knex';
import * as oidc from 'openid-client';
import { testDatabase, realBackends } from '../helpers/backend.ts';
import { startTestHub } from '../helpers/hub.ts';
import { grant, makeClient, makePerson, makeService, relyingParty } from '../helpers/fixtures.ts';
import { authorize, eventually } from '../helpers/oidc.ts';
import { UserAgent } from '../helpers/user-agent.ts';
import { newPage, signInInBrowser } from '../helpers/browser.ts';
import { addVirtualAuthenticator, blockPasskeyAutofill, forgetSignIn, startAuthorization, startLocalhostHub } from '../identity/strong-sign-in-helpers.ts';
import { runCli } from '../helpers/cli.ts';
import { firstLink, startMailCatcher } from '../helpers/mail-catcher.ts';
import { personToken, WsClient } from '../events/helpers.ts';
import { createClient as createWsClient } from 'graphql-ws';
import WebSocket from 'ws';
import { csrfTokenOf, signedInAgent } from '../portal/portal-helpers.ts';
import type { DatabaseTarget } from '../../src/platform/config.ts';
import type { Hub } from '../../src/app/start.ts';

const regions = ['eu', 'us', 'in'] as const;

/** Tables that hold a person's rows, and the column that names them. */
const personalColumns = async (db: Knex): Promise<Array<{ table: string; column: string }>> =>
  (
    await db.raw(`select table_name as table, column_name as column from information_schema.columns
      where table_schema = current_schema() and column_name in ('user_id', 'account_id', 'subject_id', 'actor_id')
        and table_name <> 'person_directory'`)
  ).rows;

async function rowsOf(db: Knex, userId: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const { table, column } of await personalColumns(db)) {
    const [row] = (await db.raw(`select count(*)::int as n from ?? where ??::text = ?`, [table, column, userId])).rows;
    if (row.n) counts[`${table}.${column}`] = row.n;
  }
  const [user] = (await db.raw('select count(*)::int as n from users where id = ?', [userId])).rows;
  if (user.n) counts['users.id'] = user.n;
  return counts;
}

async function residencyHub(t: ExecutionContext, { localhost = false, env = {} }: { localhost?: boolean; env?: Record<string, string> } = {}) {
  const directory = (await testDatabase(t)) as Extract<DatabaseTarget, { kind: 'postgres' }>;
  const regional = await Promise.all(regions.map(async () => (await testDatabase(t)) as Extract<DatabaseTarget, { kind: 'postgres' }>));
  // Four databases and their listeners from one hub: small pools, so that the test files running beside it keep theirs.
  const hub = await (localhost ? startLocalhostHub : startTestHub)(t, {
    database: { ...directory, poolMax: 2 },
    env: { ...env, DATABASE_POOL_MAX: '2', DATABASE_URL: directory.url, DATABASE_URL_EU: regional[0]!.url, DATABASE_URL_US: regional[1]!.url, DATABASE_URL_IN: regional[2]!.url, DEFAULT_REGION: 'eu' },
  });
  const open = (url: string) => {
    const db = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 1 } });
    t.teardown(() => db.destroy());
    return db;
  };
  // What the CLI needs to work beside this hub: its databases, secret and DATA_DIR.
  const cliEnv = { DATABASE_URL: directory.url, DATABASE_URL_EU: regional[0]!.url, DATABASE_URL_US: regional[1]!.url, DATABASE_URL_IN: regional[2]!.url, DATABASE_POOL_MAX: '2', UNIQVERSE_SECRET: hub.config.secret, DATA_DIR: hub.config.dataDir, LOG_LEVEL: 'silent' };
  return { hub, cliEnv, directory: open(directory.url), region: Object.fromEntries(regions.map((r, i) => [r, open(regional[i]!.url)])) as Record<(typeof regions)[number], Knex> };
}

const inCatalogue = (db: Knex, clientId: string) => eventually(async () => (await db('clients').where({ client_id: clientId }).first()) ?? undefined);

async function signInAndRedeem(hub: Hub, client: Awaited<ReturnType<typeof makeClient>>, person: { email: string; password: string }) {
  const rp = await relyingParty(hub, client);
  const agent = new UserAgent();
  const { callback, verifier, state } = await authorize({ hub, rp, person: person as never }, {}, agent);
  const tokens = await oidc.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier, expectedState: state });
  return { rp, agent, tokens };
}

test.serial('each person\'s rows live in their home region\'s database only; sign-in, tokens, refresh, userinfo and the portal work for every region', async (t) => {
  if (!realBackends) return t.pass('data residency needs PostgreSQL servers (runs with TEST_DATABASE_URL)');
  const { hub, directory, region } = await residencyHub(t);
  const service = await makeService(hub);
  const client = await makeClient(hub, { service: service.slug });
  for (const r of regions) await inCatalogue(region[r], client.client_id);

  const people = {
    eu: await makePerson(hub, { name: 'Eu Person' }),
    us: await (async () => {
      const { createUser } = await import('../../src/identity/users.ts');
      const email = `us-${Date.now()}@example.test`;
      const user = await createUser(hub.db, hub.hasher, { email, password: 'correct horse battery staple', name: 'Us Person', emailVerified: true, region: 'us' });
      return { id: user.id, email, password: 'correct horse battery staple', name: 'Us Person' };
    })(),
  };

  for (const [home, person] of Object.entries(people) as Array<[(typeof regions)[number], (typeof people)['eu']]>) {
    const { rp, agent, tokens } = await signInAndRedeem(hub, client, person);
    t.truthy(tokens.access_token, `${home}: an access token`);
    const claims = tokens.claims()!;
    t.is(claims.sub, person.id);
    const info = await oidc.fetchUserInfo(rp, tokens.access_token, person.id);
    t.is(info.name, person.name, `${home}: userinfo reads the person from their region`);
    if (tokens.refresh_token) {
      const refreshed = await oidc.refreshTokenGrant(rp, tokens.refresh_token);
      t.truthy(refreshed.access_token, `${home}: refresh works`);
    }
    const portal = await agent.request(`${hub.url}/account`);
    t.regex(await portal.text(), new RegExp(person.name), `${home}: the portal shows the person`);
    // The live stream over WebSocket, signed in by the session cookie: the upgrade finds the session in their region.
    const live = await WsClient.open(`${hub.url}/hub/events`, { cookie: agent.cookieHeader(), origin: hub.url });
    await live.close();

    // The hub API with a hub token (a JWT checked offline: its subject names the region), over HTTP and over graphql-ws.
    const hubToken = await personToken(hub, person as never, service.slug);
    const entitlements = await fetch(`${hub.url}/hub/entitlements`, { headers: { authorization: `Bearer ${hubToken}` } });
    t.is(entitlements.status, 200, `${home}: /hub/entitlements with a hub token`);
    const me = await fetch(`${hub.url}/graphql`, { method: 'POST', headers: { authorization: `Bearer ${hubToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ me { id displayName } }' }) });
    t.deepEqual(((await me.json()) as { data: unknown }).data, { me: { id: person.id, displayName: person.name } }, `${home}: /graphql over HTTP`);
    const ws = createWsClient({ url: `${hub.url.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${hubToken}` }, retryAttempts: 0 });
    let overWs: unknown = null;
    for await (const result of ws.iterate({ query: '{ me { id displayName } }' })) {
      overWs = result.data;
      break;
    }
    await ws.dispose();
    t.deepEqual(overWs, { me: { id: person.id, displayName: person.name } }, `${home}: /graphql over graphql-ws`);

    // Where the rows are: everything about them in their region, nothing anywhere else.
    const here = await rowsOf(region[home], person.id);
    t.truthy(here['users.id'], `${home}: the account row is in its region`);
    t.truthy(here['oidc_models.account_id'], `${home}: sessions, grants and tokens are in its region`);
    t.truthy(here['outbox.user_id'], `${home}: events about them start in its region`);
    for (const other of regions.filter((r) => r !== home)) t.deepEqual(await rowsOf(region[other], person.id), {}, `${home} person: no rows in ${other}`);
    t.deepEqual(await rowsOf(directory, person.id), {}, `${home} person: no personal rows in the directory database`);
    const entry = await directory('person_directory').where({ user_id: person.id }).first();
    t.is(entry.region, home);
    t.false(JSON.stringify(entry).includes(person.email), 'the directory keeps a keyed hash, not the email');
    // Relayed from the region's outbox.
    await eventually(async () => ((await region[home]('outbox').where({ user_id: person.id }).whereNull('published_at').count({ n: '*' }).first())!.n === 0 ? true : undefined));
  }
  t.is((await directory('users').count({ n: '*' }).first())!.n, 0);

  // Switching account: a request that read the EU person's session signs in by the US person's email; it goes on in the US.
  const { passwordSignIn } = await import('../../src/identity/password-sign-in.ts');
  const { routerOf } = await import('../../src/db/regions.ts');
  const router = routerOf(hub.db)!;
  const switched = await router.within(async () => {
    router.claim('eu');
    const result = await passwordSignIn(hub, people.us.email, people.us.password, { ip: '127.0.0.1', userAgent: 'test' });
    return { result, region: router.currentRegion() };
  });
  t.like(switched, { result: { ok: true }, region: 'us' });
  t.deepEqual(await rowsOf(region.eu, people.us.id), {}, 'nothing of the US person went to the EU');
});

test.serial('an email is taken in every region at once, and a failed sign-in by email reads the right region', async (t) => {
  if (!realBackends) return t.pass('data residency needs PostgreSQL servers (runs with TEST_DATABASE_URL)');
  const { hub, directory, region } = await residencyHub(t);
  const { createUser } = await import('../../src/identity/users.ts');
  const email = `taken-${Date.now()}@example.test`;
  await createUser(hub.db, hub.hasher, { email, password: 'correct horse battery staple', name: 'First', region: 'in' });
  const error = await t.throwsAsync(createUser(hub.db, hub.hasher, { email: email.toUpperCase(), password: 'correct horse battery staple', name: 'Second', region: 'us' }));
  t.regex(error!.message, /already exists/);
  t.is((await region.us('users').count({ n: '*' }).first())!.n, 0);
  t.is((await region.in('users').where({ email }).count({ n: '*' }).first())!.n, 1);
  const { verifyPasswordSignIn } = await import('../../src/identity/users.ts');
  const { routerOf } = await import('../../src/db/regions.ts');
  const router = routerOf(hub.db)!;
  t.true((await router.within(() => verifyPasswordSignIn(hub.db, hub.hasher, email, 'correct horse battery staple'))).ok);
  t.false((await router.within(() => verifyPasswordSignIn(hub.db, hub.hasher, email, 'wrong password here'))).ok);

  // Deleted (as an operator would, from no region): gone from India and from the directory, and the address is free again.
  const { deleteUser } = await import('../../src/identity/account-status.ts');
  const first = await region.in('users').where({ email }).first();
  await deleteUser(hub.db, first.id);
  t.deepEqual(await rowsOf(region.in, first.id).then((rows) => Object.keys(rows).filter((k) => !k.startsWith('audit_log') && !k.startsWith('outbox'))), []);
  t.is(await directory('person_directory').where({ user_id: first.id }).first(), undefined);
  const again = await createUser(hub.db, hub.hasher, { email, password: 'correct horse battery staple', name: 'Second', region: 'us' });
  t.truthy(await region.us('users').where({ id: again.id }).first());
});

test.serial('a person signs up in the browser choosing India: the account is made there, and the portal and a new sign-in find it', async (t) => {
  if (!realBackends) return t.pass('data residency needs PostgreSQL servers (runs with TEST_DATABASE_URL)');
  const { hub, directory, region } = await residencyHub(t);
  const { page } = await newPage(t);
  await page.goto(`${hub.url}/signup`);
  await page.getByLabel('Name').fill('Anandi Joshi');
  await page.getByLabel('Email').fill('anandi@example.test');
  await page.getByLabel('Password').fill('first woman doctor of medicine');
  t.deepEqual(await page.locator('#region option').allTextContents(), ['European Union', 'United States', 'India']);
  await page.getByLabel('Where your data is kept').selectOption('in');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL(`${hub.url}/account**`);
  await t.notThrowsAsync(page.getByText(/Anandi Joshi/).first().waitFor());

  const user = await region.in('users').where({ email: 'anandi@example.test' }).first();
  t.truthy(user, 'the account is in India\'s database');
  for (const other of [directory, region.eu, region.us]) t.deepEqual(await rowsOf(other, user.id), {});
  t.truthy((await rowsOf(region.in, user.id))['audit_log.subject_id'], 'the sign-up\'s audit entry is in India too');

  // Signed out and in again by email: the directory sends the password check to India.
  await page.context().clearCookies();
  await page.goto(`${hub.url}/account`);
  await page.getByLabel('Email').fill('anandi@example.test');
  await page.getByLabel('Password').fill('first woman doctor of medicine');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL(`${hub.url}/account**`);
  await t.notThrowsAsync(page.getByText(/Anandi Joshi/).first().waitFor());
});

test.serial('a person moved from the EU to India: every row goes with them, audited in both; they stay signed in; the EU keeps no trace of them but a sealed audit chain that verifies', async (t) => {
  if (!realBackends) return t.pass('data residency needs PostgreSQL servers (runs with TEST_DATABASE_URL)');
  const { hub, cliEnv, directory, region } = await residencyHub(t);
  const service = await makeService(hub, undefined, { defaultTier: 'basic' });
  const client = await makeClient(hub, { service: service.slug });
  for (const r of regions) await inCatalogue(region[r], client.client_id);
  const person = await makePerson(hub, { name: 'Grace Moved' });
  await eventually(async () => ((await region.eu('services').where({ id: service.id }).first()) ? true : undefined));
  await grant(hub, person.email, service.slug, 'pro');
  const { rp, agent, tokens } = await signInAndRedeem(hub, client, person);
  t.truthy((await rowsOf(region.eu, person.id))['entitlements.user_id']);
  await eventually(async () => ((await region.eu('outbox').where({ user_id: person.id }).whereNull('published_at').first()) ? undefined : true));

  const { moveToRegion } = await import('../../src/identity/region-move.ts');
  const { cliActor } = await import('../../src/audit/actors.ts');
  // By the operator's command, beside the running hub (which hears of the move and forgets where the person was).
  const run = await runCli({ env: cliEnv }, ['users', 'move', '--email', person.email, '--region', 'in', '--json']);
  t.is(run.code, 0, run.stderr);
  const moved = JSON.parse(run.stdout) as { id: string; from: string; to: string; copied: Record<string, number> };
  t.like(moved, { id: person.id, from: 'eu', to: 'in' });
  t.is(moved.copied.users, 1);

  // Everything is in India now; the EU has only its audit chain, with nothing readable about them.
  const there = await rowsOf(region.in, person.id);
  for (const key of ['users.id', 'entitlements.user_id', 'oidc_models.account_id', 'outbox.user_id', 'audit_log.subject_id']) t.truthy(there[key], `${key} in India`);
  t.deepEqual(Object.keys(await rowsOf(region.eu, person.id)).filter((k) => !k.startsWith('audit_log.')), []);
  for (const text of [person.email, person.name]) {
    for (const { table } of (await region.eu.raw("select table_name as table from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE'")).rows as Array<{ table: string }>) {
      const [row] = (await region.eu.raw('select count(*)::int as n from ?? t where t::text ilike ?', [table, `%${text}%`])).rows;
      t.is(row.n, 0, `"${text}" is nowhere in the EU's ${table}`);
    }
  }
  t.is((await directory('person_directory').where({ user_id: person.id }).first()).region, 'in');
  t.truthy(await region.in('audit_log').where({ action: 'user.moved_in', subject_id: person.id }).first());
  t.truthy(await region.eu('audit_log').where({ action: 'user.moved_out', subject_id: person.id }).first());
  await hub.auditCheckpoints.flush();
  for (const r of ['eu', 'in'] as const) {
    const verified = await runCli({ env: cliEnv }, ['audit', 'verify', '--region', r, '--json']);
    t.is(verified.code, 0, `${r}: the audit chain verifies (${verified.stdout}${verified.stderr})`);
    t.like(JSON.parse(verified.stdout), { ok: true, region: r });
  }

  // Still signed in: the session, the tokens and the grant moved with them.
  const portal = await agent.request(`${hub.url}/account`);
  t.regex(await portal.text(), /Grace Moved/);
  t.is((await oidc.fetchUserInfo(rp, tokens.access_token, person.id)).name, 'Grace Moved');
  const refreshed = await oidc.refreshTokenGrant(rp, tokens.refresh_token!);
  t.truthy(refreshed.access_token, 'the refresh token works after the move');
  t.is((await oidc.fetchUserInfo(rp, refreshed.access_token, person.id)).name, 'Grace Moved');
  // And a fresh sign-in by email goes to India.
  const again = await signInAndRedeem(hub, client, person);
  t.is(again.tokens.claims()!.sub, person.id);
  t.deepEqual(Object.keys(await rowsOf(region.eu, person.id)).filter((k) => !k.startsWith('audit_log.')), [], 'the new sign-in wrote nothing in the EU');

  // The export reads their region, and the audit entries the move left in the EU, opened with the key that moved with them.
  const { exportPersonalData } = await import('../../src/privacy/data-export.ts');
  const { personDirectory } = await import('../../src/queries/person-directory.ts');
  const user = await region.in('users').where({ id: person.id }).first();
  const data = await personDirectory.forPerson(hub.db, person.id, () => exportPersonalData(hub.db, user));
  t.like(data.residency, { home_region: 'in' });
  t.deepEqual(data.sources.residency, ['person_directory']);
  const actions = data.security_log.map((entry) => entry.action);
  t.true(actions.includes('user.moved_out') && actions.includes('user.moved_in') && actions.includes('signin.succeeded'), actions.join(' '));
  const euSignIn = data.security_log.find((entry) => entry.action === 'signin.succeeded')!;
  t.regex(String(euSignIn.ip), /^(127\.0\.0\.1|::1|::ffff:127\.0\.0\.1)$/, 'the EU entry\'s sealed address, opened');
  // (pro, or basic when the sign-up's provisioning ran after the grant: either way, the tier moved with them)
  t.is(data.services.tiers.length, 1);

  await t.throwsAsync(moveToRegion(hub.db, person.email, 'in', cliActor()), { message: /already lives in region in/ });
});

test.serial('an administrator in the EU lists the people of each region, opens a person of the US and disables them there', async (t) => {
  if (!realBackends) return t.pass('data residency needs PostgreSQL servers (runs with TEST_DATABASE_URL)');
  const { hub, region } = await residencyHub(t);
  const admin = await makePerson(hub, { admin: true, name: 'Eu Admin' });
  const { createUser } = await import('../../src/identity/users.ts');
  const us = await createUser(hub.db, hub.hasher, { email: `far-${Date.now()}@example.test`, password: 'correct horse battery staple', name: 'Far Away Person', emailVerified: true, region: 'us' });
  const agent = await signedInAgent(hub, admin);
  const token = await csrfTokenOf(agent, hub);

  // The table only: the page's header names the administrator.
  const table = async (path: string) => {
    const html = await (await agent.request(`${hub.url}${path}`)).text();
    t.regex(html, /<option value="us"/, 'the list offers the regions');
    return html.slice(html.indexOf('<div id="user-table">'));
  };
  const euList = await table('/admin/users');
  t.regex(euList, /Eu Admin/);
  t.notRegex(euList, /Far Away Person/);
  const usList = await table('/admin/users?region=us');
  t.regex(usList, /Far Away Person/);
  t.notRegex(usList, /Eu Admin/);

  const page = await agent.request(`${hub.url}/admin/users/${us.id}`);
  t.is(page.status, 200);
  t.regex(await page.text(), /Far Away Person/);
  const disabled = await agent.request(`${hub.url}/admin/users/${us.id}/disable`, { method: 'POST', body: new URLSearchParams({ _csrf: token }), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  t.is(disabled.status, 303);
  t.truthy((await region.us('users').where({ id: us.id }).first()).disabled_at, 'disabled in the US database');
  t.truthy(await region.us('audit_log').where({ action: 'user.disabled', subject_id: us.id, actor_id: admin.id }).first(), 'audited in the US, naming the EU administrator');
  t.is(await region.eu('audit_log').where({ subject_id: us.id }).first(), undefined);
});

test.serial('a region whose database is down stops only its own people: the others sign in, use the portal and get tokens', async (t) => {
  if (!realBackends) return t.pass('data residency needs PostgreSQL servers (runs with TEST_DATABASE_URL)');
  const { hub, cliEnv, region } = await residencyHub(t);
  const service = await makeService(hub);
  const client = await makeClient(hub, { service: service.slug });
  for (const r of regions) await inCatalogue(region[r], client.client_id);
  const person = await makePerson(hub, { name: 'Eu Still Here' });

  // The US database stops taking connections, and the ones open are cut.
  const usName = new URL(cliEnv.DATABASE_URL_US).pathname.slice(1);
  const admin = knexFactory({ client: 'pg', connection: process.env.TEST_DATABASE_URL!, pool: { min: 0, max: 1 } });
  t.teardown(async () => {
    await admin.raw(`alter database ${usName} allow_connections true`).catch(() => undefined);
    await admin.destroy();
  });
  await admin.raw(`alter database ${usName} allow_connections false`);
  await admin.raw('select pg_terminate_backend(pid) from pg_stat_activity where datname = ? and pid <> pg_backend_pid()', [usName]);

  const { agent, tokens } = await signInAndRedeem(hub, client, person);
  t.truthy(tokens.access_token);
  t.regex(await (await agent.request(`${hub.url}/account`)).text(), /Eu Still Here/);
});

test.serial('a person of the US adds a passkey, signs in with it alone, and with the password and it as a second factor', async (t) => {
  if (!realBackends) return t.pass('data residency needs PostgreSQL servers (runs with TEST_DATABASE_URL)');
  const { hub, directory, region } = await residencyHub(t, { localhost: true });
  const { createUser } = await import('../../src/identity/users.ts');
  const person = { email: 'hedy@example.test', password: 'frequency hopping spread spectrum', name: 'Hedy Lamarr' };
  const user = await createUser(hub.db, hub.hasher, { ...person, emailVerified: true, region: 'us' });
  const { page } = await newPage(t);
  await blockPasskeyAutofill(page);
  await addVirtualAuthenticator(page);
  await signInInBrowser(page, hub.url, person.email, person.password);
  await page.goto(`${hub.url}/account/security`);
  await page.getByRole('button', { name: 'Add a passkey' }).click();
  await page.waitForURL(/notice=passkey-added/);
  t.truthy(await region.us('passkeys').where({ user_id: user.id }).first(), 'the passkey is in the US database');

  // The passkey alone: the hub learns whose it is from the user handle, and finds it in the US.
  await forgetSignIn(page);
  const flow = await startAuthorization(hub, page);
  for (const r of regions) await eventually(async () => (await region[r]('services').where({ slug: 'vezepyweb' }).first()) ?? undefined);
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  t.is((await flow.tokens()).claims()!.sub, user.id);

  // The password, then the passkey as the second factor: the step between is found from the interaction alone.
  await forgetSignIn(page);
  await signInInBrowser(page, hub.url, person.email, person.password);
  t.regex(page.url(), /\/second-factor$/);
  await page.getByRole('button', { name: 'Use a passkey' }).click();
  await page.waitForURL(`${hub.url}/account`);
  const session = await region.us('oidc_models').where({ model: 'Session', account_id: user.id }).orderBy('expires_at', 'desc').first();
  t.deepEqual([...session.payload.amr].sort(), ['hwk', 'mfa', 'pwd']);
  for (const other of [directory, region.eu, region.in]) t.deepEqual(await rowsOf(other, user.id), {}, 'nothing of theirs outside the US once the sign-ins are done');
});

test.serial('a reset link, mailed to a person of India, sets their new password there', async (t) => {
  if (!realBackends) return t.pass('data residency needs PostgreSQL servers (runs with TEST_DATABASE_URL)');
  const mail = await startMailCatcher(t);
  const { hub, directory, region } = await residencyHub(t, { env: { SMTP_URL: mail.url } });
  const { createUser, verifyPasswordSignIn } = await import('../../src/identity/users.ts');
  const email = 'kalpana@example.test';
  const user = await createUser(hub.db, hub.hasher, { email, password: 'the old long passphrase', name: 'Kalpana Chawla', emailVerified: true, region: 'in' });
  t.is((await fetch(`${hub.url}/reset`, { method: 'POST', body: new URLSearchParams({ email }), redirect: 'manual' })).status, 200);
  const link = firstLink((await mail.waitFor(email, /Reset your/)).text);
  t.truthy(await region.in('email_tokens').where({ user_id: user.id, purpose: 'reset_password' }).first(), 'the link\'s token is kept in India');
  t.is((await fetch(link)).status, 200, 'the link opens: its token is found in India');
  const done = await fetch(link, { method: 'POST', body: new URLSearchParams({ password: 'a brand new long passphrase' }), redirect: 'manual' });
  t.is(done.status, 200);
  const { routerOf } = await import('../../src/db/regions.ts');
  const router = routerOf(hub.db)!;
  t.true((await router.within(() => verifyPasswordSignIn(hub.db, hub.hasher, email, 'a brand new long passphrase'))).ok);
  t.deepEqual(await rowsOf(directory, user.id), {});
});
