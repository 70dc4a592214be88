import test from 'ava';
import { newPage, signInInBrowser } from '../helpers/browser.ts';
import { makePerson } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { assertAccessible } from '../portal/portal-helpers.ts';
import { setUpAuthenticatorApp, totpCode } from './strong-sign-in-helpers.ts';

test.serial('an authenticator app is set up from a QR code and a first code; sign-in then asks for a code, once per code', async (t) => {
  const hub = await startTestHub(t);
  const person = await makePerson(hub);
  const { page } = await newPage(t);
  await signInInBrowser(page, hub.url, person.email, person.password);

  await page.goto(`${hub.url}/account/security`);
  await page.getByRole('button', { name: 'Set up authenticator app' }).click();
  const qr = page.getByRole('img', { name: /QR code/ });
  t.regex((await qr.getAttribute('src'))!, /^data:image\/png;base64,/);
  const secret = (await page.locator('#totp-secret').textContent())!.trim();
  t.regex(secret, /^[A-Z2-7]{32}$/, 'upper-case base32, 160 bits');

  // A wrong first code: the form says so, the factor stays off.
  await page.getByLabel('Code').fill('000000' === (await totpCode(secret)) ? '111111' : '000000');
  const wrong = page.waitForResponse((r) => r.request().method() === 'POST' && !r.url().endsWith('/account/time-zone'));
  await page.getByRole('button', { name: 'Verify' }).click();
  t.is((await wrong).status(), 400);
  t.regex((await page.getByRole('alert').first().textContent())!, /not right/);
  t.is(await page.locator('#totp-secret').textContent(), secret, 'the same key is shown again');

  await page.getByLabel('Code').fill(await totpCode(secret));
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.waitForURL(/notice=totp-on/);
  t.regex((await page.getByRole('status').filter({ hasText: 'Authenticator app is on' }).textContent())!, /asks for a code/);

  // Stored sealed, never as the base32 text.
  const row = await hub.db('totp_factors').where({ user_id: person.id }).first();
  t.truthy(row.confirmed_at);
  t.false(String(row.secret_sealed).includes(secret));
  t.truthy(await hub.db('outbox').where({ type: 'mfa.enrolled', user_id: person.id }).first());
  t.truthy(await hub.db('audit_log').where({ action: 'mfa.enrolled', subject_id: person.id }).first());

  // A new browser: password, then the code.
  const second = await newPage(t);
  await signInInBrowser(second.page, hub.url, person.email, person.password);
  t.regex(second.page.url(), /\/interaction\/[\w-]+\/second-factor$/);
  t.is(await second.page.getByRole('heading', { level: 1 }).textContent(), '2-step verification');
  const code = await totpCode(secret, 1);
  await second.page.getByLabel('Code').fill(code);
  await second.page.getByRole('button', { name: 'Verify' }).click();
  await second.page.waitForURL(`${hub.url}/account`);

  // The same code again, in a third browser: refused (replay), and no sign-in.
  const third = await newPage(t);
  await signInInBrowser(third.page, hub.url, person.email, person.password);
  await third.page.getByLabel('Code').fill(code);
  const replay = third.page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/second-factor'));
  await third.page.getByRole('button', { name: 'Verify' }).click();
  t.is((await replay).status(), 401);
  t.regex((await third.page.getByRole('alert').textContent())!, /That code is not right/);
  t.regex(third.page.url(), /\/second-factor$/);
  const audit = await hub.db('audit_log').where({ action: 'signin.second_factor_failed', subject_id: person.id }).first();
  t.truthy(audit);
});

test.serial('the authenticator app can be removed (with a recent sign-in), and sign-in no longer asks for a code', async (t) => {
  const hub = await startTestHub(t);
  const person = await makePerson(hub);
  const { page } = await newPage(t);
  await signInInBrowser(page, hub.url, person.email, person.password);
  await setUpAuthenticatorApp(page, hub.url);
  // Removing asks first, on a page of its own without JavaScript (it passes the accessibility check too)…
  await page.goto(`${hub.url}/account/security/authenticator/remove`);
  t.is(await page.getByRole('heading', { level: 1 }).textContent(), 'Remove the authenticator app?');
  await assertAccessible(t, page);
  await page.getByRole('link', { name: 'Cancel' }).click();
  await assertAccessible(t, page);
  // …and in a dialog with it: cancelling keeps it.
  await page.getByRole('button', { name: 'Remove authenticator app' }).click();
  const dialog = page.getByRole('dialog');
  t.regex((await dialog.textContent()) ?? '', /Remove the authenticator app\? .*2-step verification turns off/);
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  t.is(await page.getByRole('button', { name: 'Set up authenticator app' }).count(), 0);
  t.is(await hub.db('outbox').where({ type: 'mfa.removed', user_id: person.id }).first(), undefined);

  // Confirmed: removed in place.
  await page.getByRole('button', { name: 'Remove authenticator app' }).click();
  await dialog.getByRole('button', { name: 'Remove authenticator app' }).click();
  await page.locator('#notifications').getByText('Authenticator app removed.').waitFor();
  await page.getByRole('button', { name: 'Set up authenticator app' }).waitFor();
  t.regex((await page.locator('#two-step').textContent()) ?? '', /Off/);
  t.is(page.url(), `${hub.url}/account/security`, 'updated in place, no navigation');
  t.truthy(await hub.db('outbox').where({ type: 'mfa.removed', user_id: person.id }).first());
  // Nothing left to remove: the page that asks without JavaScript says so.
  t.is((await page.goto(`${hub.url}/account/security/authenticator/remove`))!.status(), 404);

  const other = await newPage(t);
  await signInInBrowser(other.page, hub.url, person.email, person.password);
  t.is(other.page.url(), `${hub.url}/account`);
});

test.serial('wrong codes count towards the lock-out: after 10, even the right code is refused', async (t) => {
  const hub = await startTestHub(t);
  const person = await makePerson(hub);
  const { page } = await newPage(t);
  await signInInBrowser(page, hub.url, person.email, person.password);
  const secret = await setUpAuthenticatorApp(page, hub.url);

  const other = await newPage(t);
  await signInInBrowser(other.page, hub.url, person.email, person.password);
  const right = await totpCode(secret, 1);
  for (let i = 0; i < 10; i++) {
    const wrong = String((Number(right) + 1 + i) % 1_000_000).padStart(6, '0');
    await other.page.getByLabel('Code').fill(wrong);
    await other.page.getByRole('button', { name: 'Verify' }).click();
    await other.page.getByRole('alert').waitFor();
  }
  await other.page.getByLabel('Code').fill(right);
  const locked = other.page.waitForResponse((r) => r.request().method() === 'POST' && !r.url().endsWith('/account/time-zone'));
  await other.page.getByRole('button', { name: 'Verify' }).click();
  t.is((await locked).status(), 401);
  t.regex(other.page.url(), /\/second-factor$/);
  t.truthy(await hub.db('audit_log').where({ action: 'signin.second_factor_failed', subject_id: person.id }).whereRaw("data->>'locked' = 'true'").first());
});
