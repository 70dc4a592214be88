import test from 'ava';
import type { Page } from 'playwright-core';
import type { Hub } from '../../src/app/start.ts';
import { newPage, signInInBrowser } from '../helpers/browser.ts';
import { makePerson, type Person } from '../helpers/fixtures.ts';
import { addVirtualAuthenticator, ageSignIn, blockPasskeyAutofill, credentialsOf, forgetSignIn, startAuthorization, startLocalhostHub, type VirtualAuthenticator } from './strong-sign-in-helpers.ts';

/** Signs in with the password and adds a passkey from the security page. */
async function withPasskey(t: Parameters<typeof newPage>[0], hub: Hub, person: Person, options: { isUserVerified?: boolean } = {}) {
  const { page } = await newPage(t);
  await blockPasskeyAutofill(page);
  const authenticator = await addVirtualAuthenticator(page, options);
  await signInInBrowser(page, hub.url, person.email, person.password);
  await page.goto(`${hub.url}/account/security`);
  await page.getByRole('button', { name: 'Add a passkey' }).click();
  await page.waitForURL(/notice=passkey-added/);
  return { page, authenticator };
}

const passkeyPost = (page: Page, path: RegExp) => page.waitForResponse((r) => r.request().method() === 'POST' && path.test(new URL(r.url()).pathname));

test.serial('a passkey is added on the security page, named and renamed, and signs in with no password: acr mfa, amr hwk', async (t) => {
  const hub = await startLocalhostHub(t);
  const person = await makePerson(hub);
  const { page } = await withPasskey(t, hub, person);

  const stored = await hub.db('passkeys').where({ user_id: person.id });
  t.is(stored.length, 1);
  t.regex(stored[0].name, /^Passkey \(Chrome/);
  t.truthy(await hub.db('outbox').where({ type: 'mfa.enrolled', user_id: person.id }).first());
  t.truthy(await hub.db('audit_log').where({ action: 'mfa.enrolled', subject_id: person.id }).first());
  await page.getByLabel('Passkey name').fill('Work laptop');
  await page.getByRole('button', { name: /^Rename/ }).click();
  await page.waitForURL(/notice=passkey-renamed/);
  t.is(await page.getByRole('heading', { name: 'Work laptop' }).count(), 1);

  await forgetSignIn(page);
  // acr is in the ID token when the client asks for it (acr_values); amr is kept in the session.
  const flow = await startAuthorization(hub, page, { acr_values: 'urn:uniqverse:mfa' });
  t.truthy(await page.getByLabel('Email').count());
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  const tokens = await flow.tokens();
  const claims = tokens.claims()!;
  t.is(claims.sub, person.id);
  t.is(claims.acr, 'urn:uniqverse:mfa');
  const session = await hub.db('oidc_models').where({ model: 'Session', account_id: person.id }).orderBy('expires_at', 'desc').first();
  t.deepEqual(session.payload.amr, ['hwk', 'user', 'mfa']);
  t.truthy((await hub.db('passkeys').where({ user_id: person.id }).first()).last_used_at);
  t.truthy(await hub.db('audit_log').where({ action: 'signin.succeeded', subject_id: person.id }).whereRaw(`data->'amr' @> '["hwk"]'::jsonb`).first());
});

test.serial('passkey autofill on the Email field (conditional mediation) signs in when the person picks their passkey', async (t) => {
  const hub = await startLocalhostHub(t);
  const person = await makePerson(hub);
  const { page } = await withPasskey(t, hub, person);
  await forgetSignIn(page);
  await page.unroute('**/passkey/options?mediation=conditional');
  const autofill = page.waitForRequest((r) => r.url().endsWith('/passkey/options?mediation=conditional'));
  await page.goto(`${hub.url}/account`);
  await autofill;
  // The virtual authenticator picks the passkey from the suggestions as soon as they are offered.
  await page.waitForURL(`${hub.url}/account`);
  t.is(await page.getByRole('heading', { level: 1 }).textContent(), `Welcome, ${person.name}`);
  t.truthy(await hub.db('audit_log').where({ action: 'signin.succeeded', subject_id: person.id }).whereRaw(`data->'amr' @> '["hwk"]'::jsonb`).first());
});

test.serial('a tampered passkey signature is refused, and nobody is signed in', async (t) => {
  const hub = await startLocalhostHub(t);
  const person = await makePerson(hub);
  const { page } = await withPasskey(t, hub, person);
  await forgetSignIn(page);
  await page.goto(`${hub.url}/account`);
  // Flip one byte of the signature on its way to the hub.
  await page.route('**/interaction/*/passkey', async (route) => {
    const form = new URLSearchParams(route.request().postData() ?? '');
    const credential = JSON.parse(form.get('response')!);
    const signature = Buffer.from(credential.response.signature, 'base64url');
    signature[signature.length - 5]! ^= 0x01;
    credential.response.signature = signature.toString('base64url');
    form.set('response', JSON.stringify(credential));
    await route.continue({ postData: form.toString() });
  });
  const answer = passkeyPost(page, /\/interaction\/[\w-]+\/passkey$/);
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  const response = await answer;
  t.is(response.status(), 400);
  t.regex((await response.json()).detail, /signature is not valid/);
  t.regex((await page.getByRole('alert').textContent())!, /not accepted/);
  t.regex(page.url(), /\/interaction\//);
  t.is(await hub.db('oidc_models').where({ model: 'Session', account_id: person.id }).count<{ count: string }[]>('* as count').first().then((r) => Number(r!.count)), 1, 'only the first browser session');
});

test.serial('an assertion without user verification is refused by the hub', async (t) => {
  const hub = await startLocalhostHub(t);
  const person = await makePerson(hub);
  const { page, authenticator } = await withPasskey(t, hub, person);
  await forgetSignIn(page);
  // The authenticator stops verifying the person; the options are bent so the browser still asks it.
  await authenticator.cdp.send('WebAuthn.setUserVerified', { authenticatorId: authenticator.authenticatorId, isUserVerified: false });
  await page.route('**/interaction/*/passkey/options', async (route) => {
    const response = await route.fetch();
    const options = await response.json();
    await route.fulfill({ response, json: { ...options, userVerification: 'discouraged' } });
  });
  await page.goto(`${hub.url}/account`);
  const answer = passkeyPost(page, /\/interaction\/[\w-]+\/passkey$/);
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  const response = await answer;
  t.is(response.status(), 400);
  t.regex((await response.json()).detail, /User verification is required/);
  t.regex(page.url(), /\/interaction\//);
});

test.serial('a cloned authenticator (signature counter going back) is refused', async (t) => {
  const hub = await startLocalhostHub(t);
  const person = await makePerson(hub);
  const { page, authenticator } = await withPasskey(t, hub, person);
  await forgetSignIn(page);
  await page.goto(`${hub.url}/account`);
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await page.waitForURL(`${hub.url}/account`);
  const [credential] = await credentialsOf(authenticator);
  t.true(credential!.signCount > 0);

  // The same key on a second authenticator whose counter starts again from zero.
  await forgetSignIn(page);
  await authenticator.cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: authenticator.authenticatorId });
  const clone: VirtualAuthenticator = await addVirtualAuthenticator(page);
  await clone.cdp.send('WebAuthn.addCredential', { authenticatorId: clone.authenticatorId, credential: { ...credential!, signCount: 0 } });
  await page.goto(`${hub.url}/account`);
  const answer = passkeyPost(page, /\/interaction\/[\w-]+\/passkey$/);
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  const response = await answer;
  t.is(response.status(), 400);
  t.regex((await response.json()).detail, /counter/);
});

test.serial('adding a passkey needs a recent sign-in: a stale one is sent to sign in again and comes back', async (t) => {
  const hub = await startLocalhostHub(t);
  const person = await makePerson(hub);
  const { page } = await newPage(t);
  await blockPasskeyAutofill(page);
  await addVirtualAuthenticator(page);
  await signInInBrowser(page, hub.url, person.email, person.password);
  await ageSignIn(hub, person.id, 3600);
  await page.goto(`${hub.url}/account/security`);
  await page.getByRole('button', { name: 'Add a passkey' }).click();
  // The sign-in page, with the email filled in, because the provider was asked for max_age=600.
  await page.waitForURL(/\/interaction\//);
  t.is(await page.getByLabel('Email').inputValue(), person.email);
  await page.getByLabel('Password', { exact: true }).fill(person.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL(`${hub.url}/account/security`);
  await page.getByRole('button', { name: 'Add a passkey' }).click();
  await page.waitForURL(/notice=passkey-added/);
  t.is(await hub.db('passkeys').where({ user_id: person.id }).count<{ count: string }[]>('* as count').first().then((r) => Number(r!.count)), 1);
});

test.serial('a passkey is a second factor after the password, and can be removed', async (t) => {
  const hub = await startLocalhostHub(t);
  const person = await makePerson(hub);
  const { page } = await withPasskey(t, hub, person);
  await forgetSignIn(page);
  await signInInBrowser(page, hub.url, person.email, person.password);
  t.regex(page.url(), /\/second-factor$/);
  await page.getByRole('button', { name: 'Use a passkey' }).click();
  await page.waitForURL(`${hub.url}/account`);
  const session = await hub.db('oidc_models').where({ model: 'Session', account_id: person.id }).orderBy('expires_at', 'desc').first();
  t.deepEqual([...session.payload.amr].sort(), ['hwk', 'mfa', 'pwd']);

  // Removing asks first: cancelling keeps the passkey.
  await page.goto(`${hub.url}/account/security`);
  await page.getByRole('button', { name: /^Remove/ }).click();
  const dialog = page.getByRole('dialog');
  t.regex((await dialog.textContent()) ?? '', /Remove the passkey “Passkey \(Chrome[^”]*”\? You can no longer sign in with it/);
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  t.is(await page.locator('#passkey-list .list-item').count(), 1);
  t.truthy(await hub.db('passkeys').where({ user_id: person.id }).first());
  t.is(await hub.db('outbox').where({ type: 'mfa.removed', user_id: person.id }).first(), undefined);

  // Confirmed: gone from the list in place, and 2-step verification is off with it.
  await page.getByRole('button', { name: /^Remove/ }).click();
  await dialog.getByRole('button', { name: 'Remove passkey' }).click();
  await page.locator('#notifications').getByText('Passkey removed.').waitFor();
  t.is(await page.locator('#passkey-list .list-item').count(), 0);
  t.regex((await page.locator('#two-step').textContent()) ?? '', /Off/);
  t.is(new URL(page.url()).pathname, '/account/security', 'updated in place, no navigation');
  t.is(await hub.db('passkeys').where({ user_id: person.id }).first(), undefined);
  t.truthy(await hub.db('outbox').where({ type: 'mfa.removed', user_id: person.id }).first());
  // "Add a passkey" outside the swapped list still works.
  await page.getByRole('button', { name: 'Add a passkey' }).click();
  await page.waitForURL(/notice=passkey-added/);
});
