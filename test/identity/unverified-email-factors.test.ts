import test from 'ava';
import { randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import type { Hub } from '../../src/app/start.ts';
import { newPage, signInInBrowser } from '../helpers/browser.ts';
import { firstLink, startMailCatcher } from '../helpers/mail-catcher.ts';
import { addVirtualAuthenticator, blockPasskeyAutofill, credentialsOf, setUpAuthenticatorApp, startLocalhostHub } from './strong-sign-in-helpers.ts';

const confirmFirst = /Confirm your email address first/;

/** Every factor the account holds, counted in the tables (app passwords: only those still valid). */
async function factorsOf(hub: Hub, userId: string) {
  const count = async (table: string, extra: Record<string, unknown> = {}) => Number((await hub.db(table).where({ user_id: userId, ...extra }).count({ n: '*' }))[0]!.n);
  return {
    passkeys: await count('passkeys'),
    totp: await count('totp_factors'),
    recoveryCodes: await count('recovery_codes'),
    appPasswords: Number((await hub.db('app_passwords').where({ user_id: userId }).whereNull('revoked_at').count({ n: '*' }))[0]!.n),
  };
}
const none = { passkeys: 0, totp: 0, recoveryCodes: 0, appPasswords: 0 };

async function signUp(page: Page, hub: Hub, email: string, password: string) {
  await page.goto(`${hub.url}/signup`);
  await page.getByLabel('Name').fill('Mallory');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL(`${hub.url}/account`);
}

test.serial('someone who signs up with another person\'s address can add no factor, and keeps nothing once the owner resets the password', async (t) => {
  const mail = await startMailCatcher(t);
  const hub = await startLocalhostHub(t, { env: { SMTP_URL: mail.url } });
  const victim = `victim-${randomBytes(4).toString('hex')}@example.test`;

  // The attacker signs up with the victim's address, in a browser with a passkey provider.
  const { page } = await newPage(t);
  await blockPasskeyAutofill(page);
  const authenticator = await addVirtualAuthenticator(page);
  await signUp(page, hub, victim, 'mallory keeps this one');
  const account = await hub.db('users').whereRaw('lower(email) = ?', [victim]).first();
  t.false(account.email_verified);

  await page.goto(`${hub.url}/account/security`);
  t.regex((await page.locator('#confirm-email-first').textContent())!, /Confirm your email address before you add a passkey/);
  await page.getByRole('button', { name: 'Add a passkey' }).click();
  await Promise.race([page.locator('[data-passkey-error]').waitFor(), page.waitForURL(/notice=passkey-added/)]);
  t.is((await credentialsOf(authenticator)).length, 0, 'the hub gave no challenge, so the browser made no passkey');
  t.regex((await page.locator('[data-passkey-error]').textContent())!, confirmFirst);

  const totp = await page.goto(`${hub.url}/account/security/authenticator`);
  t.is(totp!.status(), 403);
  t.regex(await page.locator('[role=alert]').first().textContent() ?? '', confirmFirst);
  t.is(await page.locator('#totp-secret').count(), 0, 'no seed shown');

  await page.goto(`${hub.url}/account/security`);
  await page.getByRole('button', { name: 'Generate recovery codes' }).click();
  await page.getByText(confirmFirst).first().waitFor();
  t.is(await page.locator('#recovery-code-list').count(), 0, 'no codes shown');

  await page.goto(`${hub.url}/account/devices`);
  await page.getByLabel('Device name').fill('Phone');
  await page.getByRole('button', { name: 'Create app password' }).click();
  await page.getByRole('alert').filter({ hasText: confirmFirst }).waitFor();
  t.is(await page.locator('#new-app-password').count(), 0, 'no app password shown');
  t.deepEqual(await factorsOf(hub, account.id), none);

  // The owner of the address takes the account back with "Forgot password?".
  const requested = await fetch(`${hub.url}/reset`, { method: 'POST', body: new URLSearchParams({ email: victim }) });
  t.is(requested.status, 200);
  const link = firstLink((await mail.waitFor(victim, /Reset your/)).text);
  const reset = await fetch(link, { method: 'POST', body: new URLSearchParams({ password: 'the owner of the mailbox' }) });
  t.is(reset.status, 200);

  // The attacker is signed out, and the old password opens nothing.
  await page.goto(`${hub.url}/account`);
  t.regex(page.url(), /\/interaction\//);
  await page.getByLabel('Email').fill(victim);
  await page.getByLabel('Password', { exact: true }).fill('mallory keeps this one');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByText('Wrong email or password.').waitFor();
  t.deepEqual(await factorsOf(hub, account.id), none);

  // The owner signs in with the password alone (no one else's second factor is asked), confirms
  // the address from the mail the sign-up sent them, and can then add a factor of their own.
  const owner = await newPage(t);
  await signInInBrowser(owner.page, hub.url, victim, 'the owner of the mailbox');
  t.is(owner.page.url(), `${hub.url}/account`);
  const confirmation = await fetch(firstLink((await mail.waitFor(victim, /confirm your email/i)).text));
  t.regex(await confirmation.text(), /Email confirmed/);
  await setUpAuthenticatorApp(owner.page, hub.url);
  await owner.page.goto(`${hub.url}/account/security`);
  t.is(await owner.page.locator('#confirm-email-first').count(), 0);
  t.like(await factorsOf(hub, account.id), { totp: 1, passkeys: 0 });
});
