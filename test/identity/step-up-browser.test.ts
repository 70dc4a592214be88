import test from 'ava';
import { newPage, signInInBrowser } from '../helpers/browser.ts';
import { makeClient, makePerson, makeService } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { basic } from '../helpers/oidc.ts';
import { ageSignIn, setUpAuthenticatorApp, startAuthorization, totpCode } from './strong-sign-in-helpers.ts';

test.serial('acr_values=urn:uniqverse:mfa asks a password-only session for the password and the code; the ID token says mfa', async (t) => {
  const hub = await startTestHub(t);
  const person = await makePerson(hub);
  const { page } = await newPage(t);
  await signInInBrowser(page, hub.url, person.email, person.password);
  const secret = await setUpAuthenticatorApp(page, hub.url);

  // This browser signed in with the password alone; the service asks for more.
  const flow = await startAuthorization(hub, page, { acr_values: 'urn:uniqverse:mfa' });
  t.regex(page.url(), /\/interaction\//);
  t.is(await page.getByLabel('Email').inputValue(), person.email, 'the signed-in person is filled in');
  await page.getByLabel('Password', { exact: true }).fill(person.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByLabel('Code').fill(await totpCode(secret, 1));
  await page.getByRole('button', { name: 'Verify' }).click();
  const claims = (await flow.tokens()).claims()!;
  t.is(claims.sub, person.id);
  t.is(claims.acr, 'urn:uniqverse:mfa');
});

test.serial('acr_values=urn:uniqverse:mfa for an account without a second factor ends with acr pwd, which the client sees', async (t) => {
  const hub = await startTestHub(t);
  const person = await makePerson(hub);
  const { page } = await newPage(t);
  const flow = await startAuthorization(hub, page, { acr_values: 'urn:uniqverse:mfa' });
  await page.getByLabel('Email').fill(person.email);
  await page.getByLabel('Password', { exact: true }).fill(person.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  const claims = (await flow.tokens()).claims()!;
  t.is(claims.acr, 'urn:uniqverse:pwd');
});

test.serial('max_age forces a fresh sign-in of the session\'s person, second factor included; auth_time moves', async (t) => {
  const hub = await startTestHub(t);
  const person = await makePerson(hub);
  const { page } = await newPage(t);
  await signInInBrowser(page, hub.url, person.email, person.password);
  const secret = await setUpAuthenticatorApp(page, hub.url);
  await ageSignIn(hub, person.id, 3600);
  const before = Math.floor(Date.now() / 1000);

  const flow = await startAuthorization(hub, page, { max_age: '300' });
  t.is(await page.getByLabel('Email').inputValue(), person.email);
  await page.getByLabel('Password', { exact: true }).fill(person.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByLabel('Code').fill(await totpCode(secret, 1));
  await page.getByRole('button', { name: 'Verify' }).click();
  const claims = (await flow.tokens()).claims()!;
  t.true(Number(claims.auth_time) >= before);
});

test.serial('changing the password needs a recent sign-in and the current password; it revokes app passwords', async (t) => {
  const hub = await startTestHub(t);
  const person = await makePerson(hub);
  await makeService(hub, 'vezepyemail');
  const mail = await makeClient(hub, { service: 'vezepyemail' });
  const { page } = await newPage(t);
  await signInInBrowser(page, hub.url, person.email, person.password);
  await page.goto(`${hub.url}/account/devices`);
  await page.getByLabel('Device name').fill('Phone');
  await page.getByRole('button', { name: 'Create app password' }).click();
  const appPassword = (await page.locator('#new-app-password').textContent())!.trim();

  // A stale sign-in: the form sends the person to sign in again, then back to the security page.
  await ageSignIn(hub, person.id, 3600);
  await page.goto(`${hub.url}/account/security`);
  t.truthy(await page.getByRole('link', { name: 'Confirm it’s you' }).count());
  await page.getByLabel('Current password').fill(person.password);
  await page.getByLabel('New password').fill('a much longer new passphrase');
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.waitForURL(/\/interaction\//);
  t.is(await page.getByLabel('Email').inputValue(), person.email);
  await page.getByLabel('Password', { exact: true }).fill(person.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL(`${hub.url}/account/security`);
  t.is(await page.getByRole('link', { name: 'Confirm it’s you' }).count(), 0);

  // Wrong current password, a too-common new one: 4xx with the message next to the field.
  await page.getByLabel('Current password').fill('not my password');
  await page.getByLabel('New password').fill('a much longer new passphrase');
  let answer = page.waitForResponse((r) => r.request().method() === 'POST' && !r.url().endsWith('/account/time-zone'));
  await page.getByRole('button', { name: 'Change password' }).click();
  t.is((await answer).status(), 400);
  t.is(await page.locator('#current-password-error').textContent(), 'This is not your current password.');
  await page.getByLabel('Current password').fill(person.password);
  await page.getByLabel('New password').fill('password123');
  answer = page.waitForResponse((r) => r.request().method() === 'POST' && !r.url().endsWith('/account/time-zone'));
  await page.getByRole('button', { name: 'Change password' }).click();
  t.is((await answer).status(), 400);
  t.regex((await page.locator('#new-password-error').textContent())!, /too common/);

  await page.getByLabel('Current password').fill(person.password);
  await page.getByLabel('New password').fill('a much longer new passphrase');
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.waitForURL(/notice=password-changed&sessions=0&app_passwords=1/);
  const verify = await fetch(`${hub.url}/api/v1/app-passwords/verify`, {
    method: 'POST',
    headers: { authorization: basic(mail), 'content-type': 'application/json' },
    body: JSON.stringify({ username: person.email, password: appPassword }),
  });
  t.is(verify.status, 401);
  t.truthy(await hub.db('audit_log').where({ action: 'password.changed', subject_id: person.id }).first());

  const other = await newPage(t);
  await signInInBrowser(other.page, hub.url, person.email, 'a much longer new passphrase');
  t.is(other.page.url(), `${hub.url}/account`);
});

test.serial('second factors need a recent sign-in too: a stale session is sent to sign in before the authenticator set-up', async (t) => {
  const hub = await startTestHub(t);
  const person = await makePerson(hub);
  const { page } = await newPage(t);
  await signInInBrowser(page, hub.url, person.email, person.password);
  await ageSignIn(hub, person.id, 3600);
  await page.goto(`${hub.url}/account/security`);
  await page.getByRole('button', { name: 'Set up authenticator app' }).click();
  await page.waitForURL(/\/interaction\//);
  await page.getByLabel('Password', { exact: true }).fill(person.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL(/\/account\/security\/authenticator\??$/);
  t.truthy(await page.locator('#totp-secret').textContent());

  // Generating recovery codes from a stale session: redirected, nothing generated.
  await ageSignIn(hub, person.id, 3600);
  await page.goto(`${hub.url}/account/security`);
  await page.getByRole('button', { name: 'Generate recovery codes' }).click();
  await page.waitForURL(/\/interaction\//);
  t.is(await hub.db('recovery_codes').where({ user_id: person.id }).first(), undefined);
});
