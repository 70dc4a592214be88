import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import test from 'ava';
import { Redis } from 'ioredis';
import type { Knex } from 'knex';
import type { Hub } from '../../src/app/start.ts';
import { verifyAuditChain } from '../../src/audit/verify.ts';
import { registerDevice } from '../../src/devices/device-apps.ts';
import { createWebhook } from '../../src/events/webhooks.ts';
import { createAppPassword } from '../../src/identity/app-passwords.ts';
import { confirmTotpEnrolment, startTotpEnrolment } from '../../src/identity/totp.ts';
import { listStoredMail, mailDirOf } from '../../src/platform/mail/mailer.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { passkeyQueries } from '../../src/queries/passkeys.ts';
import { userQueries } from '../../src/queries/users.ts';
import { grant, makeClient, makeService, relyingParty } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { authorize } from '../helpers/oidc.ts';
import { eventually, webhookReceiver } from '../events/helpers.ts';
import { totpCode } from '../identity/strong-sign-in-helpers.ts';
import { NamedAgent } from '../portal/named-agent.ts';

/** A browser of the person's: its own user agent, and its own address (the hub trusts the proxy that forwards it). */
class PersonsBrowser extends NamedAgent {
  readonly address: string;
  readonly browser: string;
  constructor(userAgent: string, address: string) {
    super(userAgent);
    this.browser = userAgent;
    this.address = address;
  }
  override request(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set('x-forwarded-for', this.address);
    return super.request(url, { ...init, headers });
  }
}

async function csrfOf(agent: NamedAgent, hub: Hub, page = '/account'): Promise<string> {
  const html = await (await agent.request(`${hub.url}${page}`)).text();
  const token = /<meta name="csrf-token" content="([^"]+)"/.exec(html)?.[1];
  if (!token) throw new Error(`no CSRF token on ${page}`);
  return token;
}

/** Signs up through the sign-in pages: the hub sees the browser's address and user agent from the first request. */
async function signUpThroughPages(hub: Hub, agent: NamedAgent, person: { name: string; email: string; password: string }): Promise<void> {
  const { response } = await agent.follow(`${hub.url}/account`, hub.url);
  const uid = /\/interaction\/([\w-]+)\/login/.exec(await response.text())?.[1];
  if (!uid) throw new Error('no sign-in page');
  const posted = await agent.postForm(`${hub.url}/interaction/${uid}/signup`, person);
  if (posted.status !== 303) throw new Error(`sign-up answered ${posted.status}: ${(await posted.text()).slice(0, 300)}`);
  const { url } = await agent.follow(new URL(posted.headers.get('location')!, hub.url).toString(), hub.url);
  if (new URL(url).pathname !== '/account') throw new Error(`sign-up ended at ${url}`);
}

/** Every text, JSON and array column of every table of the hub's schema. */
async function searchableColumns(db: Knex): Promise<Array<{ table: string; column: string }>> {
  const { rows } = (await db.raw(
    `select c.table_name as "table", c.column_name as "column"
       from information_schema.columns c join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name
      where c.table_schema = current_schema() and t.table_type = 'BASE TABLE'
        and c.data_type in ('text', 'character varying', 'character', 'json', 'jsonb', 'ARRAY', 'inet', 'cidr')
      order by 1, 2`,
  )) as { rows: Array<{ table: string; column: string }> };
  return rows;
}

/** Where in the database each needle appears: "table.column" → the needles found there. */
async function findInDatabase(db: Knex, needles: string[]): Promise<Record<string, string[]>> {
  const found: Record<string, string[]> = {};
  for (const { table, column } of await searchableColumns(db)) {
    for (const needle of needles) {
      const { rows } = (await db.raw(`select count(*)::int as n from ?? where ??::text ilike ?`, [table, column, `%${needle}%`])) as { rows: Array<{ n: number }> };
      if (rows[0]!.n > 0) (found[`${table}.${column}`] ??= []).push(needle);
    }
  }
  return found;
}

/** The hub's rate-limit counters in Redis that name `needle` (none without Redis: see the limits' own test of forget). */
async function rateLimitKeysNaming(hub: Hub, needle: string): Promise<string[]> {
  if (!hub.config.redisUrl) return [];
  const redis = new Redis(hub.config.redisUrl);
  try {
    return await redis.keys(`${hub.config.redisPrefix}limit:*${needle}*`);
  } finally {
    redis.disconnect();
  }
}

/** Every entry the hub's event stream (Redis, or the in-process bus) still holds. */
async function streamEntries(hub: Hub) {
  const entries = [];
  let after = '0-0';
  for (;;) {
    const page = await hub.events.bus.read(after, 500);
    entries.push(...page.entries);
    if (page.entries.length < 500) return entries;
    after = page.entries.at(-1)!.streamId;
  }
}

const relayed = (hub: Hub) => eventually(async () => Number((await hub.db('outbox').whereNull('published_at').count('* as n').first())?.n) === 0, 20_000, 'the relay to catch up');

test('deleting a person with a long history leaves no email, name, address or user agent of theirs in any table, the stream, the dev mailbox or the log; the audit chain still verifies', async (t) => {
  const logged: string[] = [];
  const logger = createLogger('debug', new Writable({ write: (chunk: Buffer, _encoding, done) => void (logged.push(chunk.toString()), done()) }));
  const hub = await startTestHub(t, { env: { TRUST_PROXY: 'true' }, logger });
  const tag = randomBytes(4).toString('hex');
  const first = { name: `Ottilie Erasure ${tag}`, email: `ottilie-${tag}@example.test`, password: 'a long and private passphrase' };
  const newEmail = `ottilie-new-${tag}@example.test`;
  const home = new PersonsBrowser(`Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0 Erasure/${tag}`, '198.51.100.77');
  const phone = new PersonsBrowser(`Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 Safari/604.1 Erasure/${tag}`, '203.0.113.154');
  const needles = [first.email, newEmail, first.name, home.address, phone.address, home.browser, phone.browser];

  await makeService(hub, 'vezepygame');
  const atGame = await webhookReceiver();
  t.teardown(() => atGame.close());
  await createWebhook(hub.db, hub.events.webhookBox, { service: 'vezepygame', url: atGame.url });

  // A history: sign-up (verification mail), a sign-in at a service from another device, a tier,
  // what the person shares, a passkey renamed, an authenticator app, an app password, a device,
  // and an email change confirmed by the code in the development mailbox.
  await signUpThroughPages(hub, home, first);
  const mailDir = mailDirOf(hub.config.dataDir);
  const codeSentTo = async (to: string) => {
    await hub.mailer.drain();
    return /\b(\d{6})\b/.exec(listStoredMail(mailDir).find((m) => m.to === to)!.text)![1]!;
  };
  const confirmed = await home.postForm(`${hub.url}/verify-email`, { email: first.email, code: await codeSentTo(first.email) });
  t.is(confirmed.status, 200);
  const user = (await userQueries.byEmail(hub.db, first.email))!;
  t.true(user.email_verified);
  const person = { ...first, id: user.id };
  const gameClient = await makeClient(hub, { service: 'vezepygame', type: 'web' });
  await authorize({ hub, rp: await relyingParty(hub, gameClient), person }, {}, phone);
  await grant(hub, person.email, 'vezepygame', 'pro');
  t.is((await home.postForm(`${hub.url}/account/privacy/services/vezepygame`, { _csrf: await csrfOf(home, hub), profile: 'on', email: 'on', activity: 'on' })).status, 303);
  const passkeyId = randomBytes(16).toString('base64url');
  await passkeyQueries.insert(hub.db, { id: passkeyId, user_id: person.id, public_key: randomBytes(77), counter: 0, transports: ['internal'], device_type: 'multiDevice', backed_up: true, aaguid: null, name: 'Laptop' });
  const renamed = await home.postForm(`${hub.url}/account/security/passkeys/${passkeyId}/name`, { _csrf: await csrfOf(home, hub), name: `${first.name}'s laptop` });
  t.is(renamed.status, 303);
  const origin = { ip: phone.address, userAgent: phone.browser };
  const enrolment = await startTotpEnrolment(hub.db, hub.secrets.totp, person);
  await confirmTotpEnrolment(hub.db, hub.secrets.totp, person.id, await totpCode(enrolment.secret), origin);
  await createAppPassword(hub.db, hub.secrets.credentials, person.id, { deviceName: `${first.name}'s mail app`, deviceType: 'phone', service: 'all' }, origin);
  await registerDevice(hub.db, person.id, { clientId: gameClient.client_id, grantRef: null }, { kind: 'phone', name: `${first.name}'s phone`, os: 'iOS 17', app_version: '1.0.0' });
  const asked = await home.postForm(`${hub.url}/account/security/email`, { _csrf: await csrfOf(home, hub), newEmail, password: first.password });
  t.is(asked.status, 303, (await asked.text()).slice(0, 300));
  const verified = await home.postForm(`${hub.url}/account/security/email/verify`, { _csrf: await csrfOf(home, hub), code: await codeSentTo(newEmail) });
  t.is(verified.status, 303);
  t.is((await userQueries.byId(hub.db, person.id))!.email, newEmail);
  // A wrong password from the phone: the limits count it under the person's id and the phone's address.
  const wrong = await hub.limits.check('password', { accountKey: person.id, ip: phone.address });
  await hub.limits.fail(wrong);
  await relayed(hub);
  await eventually(() => atGame.received.some((r) => r.body.includes(newEmail)), 20_000, 'the game to hear of the new address');
  await hub.mailer.drain();

  // Before: the person is all over the hub (so the search below can find them), except in the
  // audit log, whose personal fields are sealed.
  const before = await findInDatabase(hub.db, needles);
  for (const column of ['users.email', 'users.name', 'outbox.data', 'webhook_deliveries.payload', 'session_sightings.ip', 'session_sightings.user_agent', 'known_devices.user_agent']) {
    t.truthy(before[column], `before the deletion, ${column} holds the person`);
  }
  const plain = await hub.db('audit_log').where((w) => { for (const needle of needles) w.orWhereRaw('data::text ilike ?', [`%${needle}%`]); }).select('action', 'actor_id', 'subject_id', 'data');
  t.deepEqual(plain, [], 'audit entries hold the person sealed only');
  t.true(listStoredMail(mailDir).some((m) => m.to === first.email), 'the development mailbox holds their mail');
  t.true((await streamEntries(hub)).some((e) => e.event.user_id === person.id), 'the stream holds their events');
  if (hub.config.redisUrl) t.true((await rateLimitKeysNaming(hub, person.id)).length > 0, 'the rate-limit counters name the person');
  await hub.auditCheckpoints.flush();

  // The person deletes their account on the portal.
  const csrf = await csrfOf(home, hub, '/account/privacy/delete');
  const deleted = await home.postForm(`${hub.url}/account/privacy/delete`, { _csrf: csrf, password: first.password });
  t.is(deleted.status, 303);
  t.is(deleted.headers.get('location'), '/account-deleted');
  await relayed(hub);
  const told = await eventually(() => atGame.received.map((r) => JSON.parse(r.body) as { type: string; user_id?: string; data: unknown }).find((e) => e.type === 'user.deleted'), 20_000, 'user.deleted at the game');
  t.deepEqual(told, { ...told, user_id: person.id, data: {} }, 'the service learns that the person is gone, by id');
  await hub.mailer.drain();

  t.deepEqual(await findInDatabase(hub.db, needles), {}, 'no table keeps anything of the person');
  await eventually(async () => ((await rateLimitKeysNaming(hub, person.id)).length ? undefined : true), 20_000, 'the rate-limit counters to forget the person');
  t.is(await hub.limits.forget(person.id), 0, 'no counter of this instance names the person any more');
  const stream = await eventually(async () => {
    const entries = await streamEntries(hub);
    return entries.some((e) => e.event.user_id === person.id && e.event.type !== 'user.deleted') ? undefined : entries;
  }, 20_000, 'the stream to forget the person');
  t.deepEqual(stream.filter((e) => e.event.user_id === person.id).map((e) => e.event.type), ['user.deleted']);
  t.deepEqual(needles.filter((needle) => stream.some((e) => JSON.stringify(e.event).toLowerCase().includes(needle.toLowerCase()))), [], 'the stream holds nothing of the person');
  const mailFiles = readdirSync(mailDir).map((name) => readFileSync(path.join(mailDir, name), 'utf8').toLowerCase());
  t.deepEqual(needles.filter((needle) => mailFiles.some((text) => text.includes(needle.toLowerCase()))), [], 'the development mailbox holds nothing of the person');
  t.deepEqual(needles.filter((needle) => logged.some((line) => line.toLowerCase().includes(needle.toLowerCase()))), [], 'the log never carried the person');
  t.true(logged.length > 0, 'the hub did log (the search above looked at something)');

  const report = await verifyAuditChain(hub.db, { dataDir: hub.config.dataDir, secret: hub.config.secret });
  t.true(report.ok, report.problem?.reason);
  t.true(report.signedTo > 0, 'checked against a checkpoint signed before the deletion');
  t.true(report.erasedEntries >= 8, `the person's entries are counted as erased (${report.erasedEntries})`);
});
