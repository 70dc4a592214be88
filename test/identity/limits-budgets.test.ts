import { createHash } from 'node:crypto';
import test from 'ava';
import { limitPolicy } from '../../src/platform/rate-limits.ts';
import { ageSignIn } from './strong-sign-in-helpers.ts';
import { basic, scene } from '../helpers/oidc.ts';
import { csrfTokenOf, signedInAgent } from '../portal/portal-helpers.ts';
import { auditCount, enrolTotp, loginForm, nextTotpCode, typeCode, typePassword } from './limits-helpers.ts';

// Each kind of credential has its own budget per account; a success refunds only its own kind.

test('a right password does not refill the second factor: password, 9 wrong codes, password again, 1 wrong recovery code, and even the right code is refused', async (t) => {
  const s = await scene(t);
  const secret = await enrolTotp(s.hub, s.person);
  const first = await loginForm(s);
  t.is((await typePassword(first, s.person.email, s.person.password)).status, 303);
  for (let i = 0; i < limitPolicy.accountAttempts - 1; i++) t.is((await typeCode(s.hub, first, String(100000 + i))).status, 401);

  // The password is right again: that refunds the password's budget, not the codes'.
  const second = await loginForm(s);
  t.is((await typePassword(second, s.person.email, s.person.password)).status, 303);
  // A recovery code spends the same budget as an authenticator code.
  t.is((await typeCode(s.hub, second, 'aaaa-bbbb-cccc')).status, 401);
  const right = await typeCode(s.hub, second, await nextTotpCode(secret));
  t.is(right.status, 401, 'the second factor is locked: a password must not lift that');
  t.is(right.error, 'That code is not right. Enter the 6-digit code from your authenticator app, or a recovery code.');
  t.is(await auditCount(s.hub, 'signin.second_factor_failed', { locked: true }), 1);
  t.is(await auditCount(s.hub, 'signin.succeeded'), 0);
});

test('wrong codes do not spend the password budget, and a good code clears only the codes\' counter', async (t) => {
  const s = await scene(t);
  const secret = await enrolTotp(s.hub, s.person);
  for (let i = 0; i < limitPolicy.accountAttempts - 1; i++) t.is((await typePassword(await loginForm(s), s.person.email, `wrong ${i}`)).status, 401);
  const form = await loginForm(s);
  t.is((await typePassword(form, s.person.email, s.person.password)).status, 303);
  // Nine failures at the codes too: had the two been one counter, the first would have locked it.
  for (let i = 0; i < limitPolicy.accountAttempts - 1; i++) t.is((await typeCode(s.hub, form, String(200000 + i))).status, 401);
  t.is((await typeCode(s.hub, form, await nextTotpCode(secret))).status, 303);
});

test('a good app password (a mail client checking in) does not refill the second factor either', async (t) => {
  const s = await scene(t);
  const secret = await enrolTotp(s.hub, s.person);
  // An app password as any version of the hub stored it: the old SHA-256 form still verifies.
  const appPassword = 'abcdefghijklmnop';
  await s.hub.db('app_passwords').insert({ user_id: s.person.id, device_name: 'Mail', device_type: 'desktop', service_id: null, password_hash: createHash('sha256').update(`app-password:${appPassword}`).digest('hex') });
  const form = await loginForm(s);
  t.is((await typePassword(form, s.person.email, s.person.password)).status, 303);
  for (let i = 0; i < limitPolicy.accountAttempts - 1; i++) t.is((await typeCode(s.hub, form, String(300000 + i))).status, 401);
  const checked = await fetch(`${s.hub.url}/api/v1/app-passwords/verify`, {
    method: 'POST',
    headers: { authorization: basic(s.client), 'content-type': 'application/json' },
    body: JSON.stringify({ username: s.person.email, password: appPassword }),
  });
  t.is(checked.status, 200);
  t.is((await typeCode(s.hub, form, String(399999))).status, 401);
  t.is((await typeCode(s.hub, form, await nextTotpCode(secret))).status, 401, 'ten wrong codes: locked, whatever the mail client did');
});

/** Posts a portal form with the agent's CSRF token. */
async function portalPost(agent: Awaited<ReturnType<typeof signedInAgent>>, url: string, form: Record<string, string>, csrf: string) {
  const response = await agent.request(url, { method: 'POST', body: new URLSearchParams({ ...form, _csrf: csrf }), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  return { status: response.status, location: response.headers.get('location'), html: await response.text() };
}

test('the password budget holds from every path that spends it: sign-in form, password change and delete-account together lock it', async (t) => {
  const s = await scene(t);
  const portal = await signedInAgent(s.hub, s.person);
  const csrf = await csrfTokenOf(portal, s.hub);
  const deleteUrl = `${s.hub.url}/account/privacy/delete`;
  for (let i = 0; i < 4; i++) t.is((await typePassword(await loginForm(s), s.person.email, `form guess ${i}`)).status, 401);
  for (let i = 0; i < 3; i++) {
    const changed = await portalPost(portal, `${s.hub.url}/account/security/password`, { currentPassword: `change guess ${i}`, newPassword: 'a brand new passphrase 42' }, csrf);
    t.is(changed.status, 400);
  }
  for (let i = 0; i < 3; i++) {
    const refused = await portalPost(portal, deleteUrl, { password: `delete guess ${i}` }, csrf);
    t.is(refused.status, 400);
    t.regex(refused.html, /That is not your password/);
  }
  t.is(await auditCount(s.hub, 'user.delete_failed', { locked: false }), 3);

  // Ten failures on the password budget from this address: the right password is refused on every path.
  const locked = await portalPost(portal, deleteUrl, { password: s.person.password }, csrf);
  t.is(locked.status, 400);
  t.regex(locked.html, /That is not your password/);
  t.truthy(await s.hub.db('users').where({ id: s.person.id }).first(), 'not deleted');
  t.is(await auditCount(s.hub, 'user.delete_failed', { locked: true }), 1);
  t.is((await typePassword(await loginForm(s), s.person.email, s.person.password)).status, 401);
});

test('ten wrong passwords at delete-account lock the sign-in form too, and each is audited', async (t) => {
  const s = await scene(t);
  const portal = await signedInAgent(s.hub, s.person);
  const csrf = await csrfTokenOf(portal, s.hub);
  const guesses = await Promise.all(Array.from({ length: 20 }, (_, i) => portalPost(portal, `${s.hub.url}/account/privacy/delete`, { password: `parallel ${i}` }, csrf)));
  t.true(guesses.every((g) => g.status === 400));
  t.is(await auditCount(s.hub, 'user.delete_failed', { locked: false }), limitPolicy.accountAttempts);
  t.is(await auditCount(s.hub, 'user.delete_failed', { locked: true }), 20 - limitPolicy.accountAttempts);
  t.is((await typePassword(await loginForm(s), s.person.email, s.person.password)).status, 401);
});

test('deleting the account asks for a recent sign-in: a stale one is sent to sign in again and nothing is deleted', async (t) => {
  const s = await scene(t);
  const portal = await signedInAgent(s.hub, s.person);
  const csrf = await csrfTokenOf(portal, s.hub);
  await ageSignIn(s.hub, s.person.id, 3600);
  const stale = await portalPost(portal, `${s.hub.url}/account/privacy/delete`, { password: s.person.password }, csrf);
  t.is(stale.status, 303);
  t.regex(stale.location ?? '', /^\/account\/signin\?.*max_age=600/);
  t.truthy(await s.hub.db('users').where({ id: s.person.id }).first());
  const page = await portal.request(`${s.hub.url}/account/privacy/delete`);
  t.true(page.status >= 300 && page.status < 400, 'the form itself asks for a fresh sign-in first');
  t.regex(page.headers.get('location') ?? '', /max_age=600/);
});

test('a recent sign-in and the right password still delete the account', async (t) => {
  const s = await scene(t);
  const portal = await signedInAgent(s.hub, s.person);
  const csrf = await csrfTokenOf(portal, s.hub);
  const done = await portalPost(portal, `${s.hub.url}/account/privacy/delete`, { password: s.person.password }, csrf);
  t.is(done.status, 303);
  t.is(await s.hub.db('users').where({ id: s.person.id }).first(), undefined);
});
