import { randomBytes } from 'node:crypto';
import test from 'ava';
import type { Knex } from 'knex';
import type { Hub } from '../../src/app/start.ts';
import { registerDevice } from '../../src/devices/device-apps.ts';
import { createAppPassword } from '../../src/identity/app-passwords.ts';
import { passkeyRegistrationOptions, relyingPartyFor } from '../../src/identity/passkeys.ts';
import { generateRecoveryCodes } from '../../src/identity/recovery-codes.ts';
import { confirmTotpEnrolment, startTotpEnrolment } from '../../src/identity/totp.ts';
import { exportFormat, exportVersion } from '../../src/privacy/data-export.ts';
import { fieldLabelKey } from '../../src/web/portal/data-export-view.ts';
import { hasMessage } from '../../src/platform/i18n.ts';
import { handoffQueries } from '../../src/queries/handoffs.ts';
import { saveNotificationSettings } from '../../src/devices/notification-settings.ts';
import { subscribeBrowser } from '../../src/devices/push-subscriptions.ts';
import { liveTicketQueries } from '../../src/queries/live-tickets.ts';
import { passkeyQueries } from '../../src/queries/passkeys.ts';
import { pendingSecondFactorQueries } from '../../src/queries/pending-second-factors.ts';
import { auditEntriesOf } from '../helpers/audit.ts';
import { grant, makeClient, makePerson, makeService, relyingParty, type Person } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { authorize } from '../helpers/oidc.ts';
import { totpCode } from '../identity/strong-sign-in-helpers.ts';
import { newPage, signInInBrowser } from '../helpers/browser.ts';
import { assertAccessible, csrfTokenOf, signedInAgent, userAgents } from '../portal/portal-helpers.ts';
import { NamedAgent } from '../portal/named-agent.ts';
import type { UserAgent } from '../helpers/user-agent.ts';

/** Columns by which a row names the person it is about (or who did it). */
const personColumns = ['user_id', 'account_id', 'subject_id', 'actor_id', 'person_id'];

/** Every table of the hub's schema that holds at least one row naming this person, found from the catalogue, not from a list. */
async function tablesHolding(db: Knex, personId: string): Promise<string[]> {
  const { rows } = (await db.raw(
    `select c.table_name as "table", c.column_name as "column"
       from information_schema.columns c join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name
      where c.table_schema = current_schema() and t.table_type = 'BASE TABLE' and (c.column_name = any(?) or (c.table_name = 'users' and c.column_name = 'id'))`,
    [personColumns],
  )) as { rows: Array<{ table: string; column: string }> };
  const holding = new Set<string>();
  for (const { table, column } of rows) {
    const { rows: found } = (await db.raw('select count(*)::int as n from ?? where ??::text = ?', [table, column, personId])) as { rows: Array<{ n: number }> };
    if (found[0]!.n > 0) holding.add(table);
  }
  return [...holding].sort();
}

/** A person with something in as many tables as a person can have: sessions, a service, tiers, choices, credentials, devices, mails, ceremonies. */
async function busyPerson(hub: Hub): Promise<{ person: Person; agent: UserAgent }> {
  await makeService(hub, 'vezepygame');
  const person = await makePerson(hub, { name: 'Hedy Export' });
  const agent = await signedInAgent(hub, person, userAgents.macChrome);
  const client = await makeClient(hub, { service: 'vezepygame', type: 'web' });
  await authorize({ hub, rp: await relyingParty(hub, client), person }, {}, new NamedAgent(userAgents.playStation));
  await grant(hub, person.email, 'vezepygame', 'pro');
  expectStatus(await agent.postForm(`${hub.url}/account/privacy/services/vezepygame`, { _csrf: await csrfTokenOf(agent, hub), profile: 'on', activity: 'on' }), 303);
  const origin = { ip: '192.0.2.31', userAgent: userAgents.iPhone };
  await passkeyQueries.insert(hub.db, { id: randomBytes(16).toString('base64url'), user_id: person.id, public_key: randomBytes(77), counter: 0, transports: ['internal'], device_type: 'multiDevice', backed_up: true, aaguid: null, name: 'Laptop' });
  await passkeyRegistrationOptions(hub.db, relyingPartyFor(hub.config.issuer), person, 'a-session-uid');
  const enrolment = await startTotpEnrolment(hub.db, hub.secrets.totp, person);
  await confirmTotpEnrolment(hub.db, hub.secrets.totp, person.id, await totpCode(enrolment.secret), origin);
  await generateRecoveryCodes(hub.db, hub.secrets.credentials, person.id, origin);
  await createAppPassword(hub.db, hub.secrets.credentials, person.id, { deviceName: 'Mail on the phone', deviceType: 'phone', service: 'all' }, origin);
  await registerDevice(hub.db, person.id, { clientId: client.client_id, grantRef: null }, { kind: 'phone', name: 'Phone', os: 'iOS 17', app_version: '1.0.0' });
  await handoffQueries.insert(hub.db, { user_id: person.id, service_id: null, client_id: client.client_id, from_device_id: null, what: 'page', title: 'Your open match', url: 'https://game.example.test/match/1', expires_at: new Date(Date.now() + 600_000) });
  await liveTicketQueries.insert(hub.db, { ticket_hash: randomBytes(32).toString('hex'), user_id: person.id, client_id: client.client_id, grant_ref: null, scope: 'hub', token_expires_at: new Date(Date.now() + 3_600_000), expires_at: new Date(Date.now() + 30_000) });
  const pushKeys = { p256dh: Buffer.concat([Buffer.from([4]), randomBytes(64)]).toString('base64url'), auth: randomBytes(16).toString('base64url') };
  await subscribeBrowser(hub.db, person.id, { endpoint: 'https://push.example.test/hedy', keys: pushKeys }, origin);
  await saveNotificationSettings(hub.db, person.id, { kinds: ['sign_in'], quiet_start: '22:00', quiet_end: '07:00' }, origin);
  await pendingSecondFactorQueries.put(hub.db, { interaction_uid: `uid-${randomBytes(4).toString('hex')}`, user_id: person.id, amr: ['pwd'], expires_at: new Date(Date.now() + 300_000) });
  expectStatus(await agent.postForm(`${hub.url}/account/security/email`, { _csrf: await csrfTokenOf(agent, hub), newEmail: `hedy-${randomBytes(3).toString('hex')}@example.test`, password: person.password }), 303);
  return { person, agent };
}

function expectStatus(response: Response, expected: number): void {
  if (response.status !== expected) throw new Error(`${response.url || 'a request'} answered ${response.status}, not ${expected}`);
}

test('the export has a section for every table that holds a row about the person, each with their data; it is versioned and audited', async (t) => {
  const hub = await startTestHub(t);
  const { person, agent } = await busyPerson(hub);
  const holding = await tablesHolding(hub.db, person.id);
  // The setup reaches the tables a person's history fills (so the comparison below means something).
  for (const table of ['users', 'entitlements', 'service_consents', 'session_sightings', 'known_devices', 'passkeys', 'webauthn_challenges', 'totp_factors', 'recovery_codes', 'app_passwords', 'devices', 'email_tokens', 'pending_second_factors', 'push_subscriptions', 'notification_settings', 'oidc_models', 'outbox', 'audit_log', 'audit_person_keys']) {
    t.true(holding.includes(table), `the person has a row in ${table}`);
  }

  const response = await agent.request(`${hub.url}/account/privacy/export`);
  t.is(response.status, 200);
  t.regex(response.headers.get('content-disposition') ?? '', /attachment; filename="uniqverse-data-/);
  const data = (await response.json()) as Record<string, unknown> & { format: string; version: number; sources: Record<string, string[]> };
  t.is(data.format, exportFormat);
  t.is(data.version, exportVersion);
  const exported = new Set(Object.values(data.sources).flat());
  t.deepEqual(holding.filter((table) => !exported.has(table)), [], 'every table holding the person has a section of the export');
  const isEmpty = (value: unknown): boolean => value === null || value === undefined || (Array.isArray(value) ? value.length === 0 : typeof value === 'object' ? Object.values(value as object).every(isEmpty) : value === false || value === 0);
  for (const [section, tables] of Object.entries(data.sources)) {
    t.true(section in data, `section ${section} is in the export`);
    if (tables.some((table) => holding.includes(table))) t.false(isEmpty(data[section]), `section ${section} (${tables.join(', ')}) holds the person's rows`);
  }
  const text = JSON.stringify(data);
  t.true(text.includes(person.email) && text.includes('Hedy Export') && text.includes('192.0.2.31'), 'the person\'s own details, opened from the sealed audit log too');
  for (const secret of ['password_hash', 'token_hash', 'code_hash', 'public_key', 'wrapped_key', 'sealed:v1:', 'device_hash']) t.false(text.includes(secret), `no ${secret}`);

  const [audited] = await auditEntriesOf(hub.db, person.id, 'data.exported');
  t.like(audited, { actor_id: person.id, data: { format: exportFormat, version: exportVersion, as: 'json' } });
  t.is(audited!.user_agent, userAgents.macChrome);
});

test('the portal shows the same data as a page, linked from the Privacy page, every section with a heading; viewing it is audited', async (t) => {
  const hub = await startTestHub(t);
  const person = await makePerson(hub, { name: 'Hedy Page' });
  await makeService(hub, 'vezepygame');
  await grant(hub, person.email, 'vezepygame', 'pro');
  const { page } = await newPage(t);
  page.setDefaultTimeout(60_000);
  await signInInBrowser(page, hub.url, person.email, person.password);
  await page.goto(`${hub.url}/account/privacy`);
  await page.getByRole('link', { name: 'View my data' }).click();
  await page.waitForURL(`${hub.url}/account/privacy/data`);
  t.is(await page.getByRole('heading', { level: 1 }).textContent(), 'Your data');
  const headings = await page.getByRole('heading', { level: 2 }).allTextContents();
  t.true(headings.includes('Your account') && headings.includes('Services and plans') && headings.includes('Security log'), headings.join(' | '));
  const account = page.locator('section', { has: page.getByRole('heading', { name: 'Your account' }) });
  t.true((await account.textContent())!.includes(person.email));
  t.true((await page.locator('#data-services').locator('xpath=..').textContent())!.includes('pro'));
  await assertAccessible(t, page);
  t.truthy((await auditEntriesOf(hub.db, person.id, 'data.exported')).find((e) => e.data.as === 'html'));
});

test('every field of a busy person\'s export has a catalogue label on the data page (the event and audit details aside, which are the services\' own words)', async (t) => {
  const hub = await startTestHub(t);
  const { agent } = await busyPerson(hub);
  const data = (await (await agent.request(`${hub.url}/account/privacy/export`)).json()) as Record<string, unknown>;
  const keys = new Set<string>();
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach((item) => walk(item));
    if (!value || typeof value !== 'object') return;
    for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
      keys.add(key);
      if (key !== 'data' && key !== 'details') walk(inner);
    }
  };
  const { format: _format, version: _version, exported_at: _at, sources, ...sections } = data;
  for (const section of Object.keys(sources as object)) walk(sections[section]);
  t.true(keys.size > 40, `${keys.size} field names`);
  const unlabelled = [...keys].filter((key) => !fieldLabelKey(key) || !hasMessage(fieldLabelKey(key)!));
  t.deepEqual(unlabelled, []);
});
