import { createHash } from 'node:crypto';
import test from 'ava';
import type { Hub } from '../../src/app/start.ts';
import { createCredentialHasher } from '../../src/platform/crypto/credential-hash.ts';
import { makeClient, makeService } from '../helpers/fixtures.ts';
import { basic, scene } from '../helpers/oidc.ts';
import { csrfTokenOf, signedInAgent } from '../portal/portal-helpers.ts';
import { enrolTotp, loginForm, typeCode, typePassword } from './limits-helpers.ts';

// Recovery codes and app passwords are stored as an HMAC keyed from the master secret: a copy of
// the database alone cannot test a guess. Rows from before (plain SHA-256) still work once and
// are re-hashed on that use.

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

async function verifyAt(hub: Hub, client: { client_id: string; client_secret?: string }, username: string, password: string) {
  const response = await fetch(`${hub.url}/api/v1/app-passwords/verify`, {
    method: 'POST',
    headers: { authorization: basic(client), 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

test('a new app password is stored as a keyed HMAC, not a hash anyone can test guesses against, and verifies', async (t) => {
  const s = await scene(t);
  const portal = await signedInAgent(s.hub, s.person);
  const csrf = await csrfTokenOf(portal, s.hub);
  const answer = await portal.request(`${s.hub.url}/account/devices/app-passwords`, {
    method: 'POST',
    body: new URLSearchParams({ deviceName: 'Laptop', deviceType: 'desktop', service: 'all', _csrf: csrf }),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  const password = /\b([a-z]{4} [a-z]{4} [a-z]{4} [a-z]{4})\b/.exec(await answer.text())?.[1];
  t.truthy(password, 'shown once');
  const normalised = password!.replace(/ /g, '');
  const row = await s.hub.db('app_passwords').where({ user_id: s.person.id }).first();
  t.not(row.password_hash, sha256(`app-password:${normalised}`), 'not the unkeyed SHA-256');
  t.false(String(row.password_hash).includes(sha256(`app-password:${normalised}`)));
  t.regex(row.password_hash, /^h1:[0-9a-f]{64}$/);
  t.is((await verifyAt(s.hub, s.client, s.person.email, password!)).status, 200);
});

test('an app password stored as plain SHA-256 (before the HMAC) still verifies, and its row is re-hashed on that use', async (t) => {
  const s = await scene(t);
  const legacy = 'abcdefghijklmnop';
  await s.hub.db('app_passwords').insert({ user_id: s.person.id, device_name: 'Old phone', device_type: 'phone', service_id: null, password_hash: sha256(`app-password:${legacy}`) });
  const first = await verifyAt(s.hub, s.client, s.person.email, 'abcd efgh ijkl mnop');
  t.is(first.status, 200);
  t.is(first.body.sub, s.person.id);
  const row = await s.hub.db('app_passwords').where({ user_id: s.person.id }).first();
  t.regex(row.password_hash, /^h1:[0-9a-f]{64}$/, 're-hashed');
  t.is((await verifyAt(s.hub, s.client, s.person.email, legacy)).status, 200, 'and still good');
  t.is((await verifyAt(s.hub, s.client, s.person.email, 'abcdefghijklmnoq')).status, 401);
  await makeService(s.hub, 'othersvc');
  t.is((await verifyAt(s.hub, await makeClient(s.hub, { service: 'othersvc' }), s.person.email, legacy)).status, 200, 'an all-services password');
});

test('recovery codes are stored as a keyed HMAC; an old SHA-256 one still gets in once and is re-hashed as it is spent', async (t) => {
  const s = await scene(t);
  const portal = await signedInAgent(s.hub, s.person);
  const csrf = await csrfTokenOf(portal, s.hub);
  await enrolTotp(s.hub, s.person);
  const made = await portal.request(`${s.hub.url}/account/security/recovery-codes`, {
    method: 'POST',
    body: new URLSearchParams({ _csrf: csrf }),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  const codes = [...(await made.text()).matchAll(/\b([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})\b/g)].map((m) => m[1]!);
  t.is(new Set(codes).size, 10);
  const rows: Array<{ code_hash: string }> = await s.hub.db('recovery_codes').where({ user_id: s.person.id });
  t.true(rows.every((r) => /^h1:[0-9a-f]{64}$/.test(r.code_hash)));
  t.false(rows.some((r) => r.code_hash === sha256(`recovery-code:${codes[0]!.replace(/-/g, '')}`)));

  // A code written by the old version.
  const old = 'abcd-efgh-jkmn';
  await s.hub.db('recovery_codes').insert({ user_id: s.person.id, code_hash: sha256(`recovery-code:${old.replace(/-/g, '')}`) });
  const form = await loginForm(s);
  t.is((await typePassword(form, s.person.email, s.person.password)).status, 303);
  const used = await typeCode(s.hub, form, old);
  t.is(used.status, 200, 'the recovery-code page says how many are left');
  const spent = await s.hub.db('recovery_codes').where({ user_id: s.person.id }).whereNotNull('used_at');
  t.is(spent.length, 1);
  t.regex(spent[0].code_hash, /^h1:[0-9a-f]{64}$/, 're-hashed as it was spent');

  const again = await loginForm(s);
  t.is((await typePassword(again, s.person.email, s.person.password)).status, 303);
  t.is((await typeCode(s.hub, again, old)).status, 401, 'once only');
  t.is((await typeCode(s.hub, again, codes[1]!)).status, 200);
});

test('the HMAC key comes from the master secret: another secret gives another hash', (t) => {
  const a = createCredentialHasher('one secret that is long enough for this test');
  const b = createCredentialHasher('another secret that is long enough for this');
  t.not(a.hash('app-password', 'abcdefghijklmnop'), b.hash('app-password', 'abcdefghijklmnop'));
  t.is(a.hash('app-password', 'abcdefghijklmnop'), a.hash('app-password', 'abcdefghijklmnop'));
  t.not(a.hash('app-password', 'abcdefghijklmnop'), a.hash('recovery-code', 'abcdefghijklmnop'));
  t.is(a.legacy('app-password', 'abcdefghijklmnop'), sha256('app-password:abcdefghijklmnop'));
});
