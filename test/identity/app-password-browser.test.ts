import test from 'ava';
import type { Page } from 'playwright-core';
import type { Hub } from '../../src/app/start.ts';
import { revokeAllAppPasswords } from '../../src/identity/app-passwords.ts';
import { newPage, signInInBrowser } from '../helpers/browser.ts';
import { makeClient, makePerson, makeService } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { basic } from '../helpers/oidc.ts';
import { checkResponse } from '../api/openapi-check.ts';

async function createAppPassword(page: Page, hubUrl: string, device: string, type: string, service: string): Promise<string> {
  await page.goto(`${hubUrl}/account/devices`);
  await page.getByLabel('Device name').fill(device);
  await page.getByLabel('Device type').selectOption(type);
  await page.getByLabel('Service').selectOption({ label: service });
  await page.getByRole('button', { name: 'Create app password' }).click();
  return (await page.locator('#new-app-password').textContent())!.trim();
}

/** The answer, checked against docs/openapi.yaml. */
async function documented(t: Parameters<typeof checkResponse>[0], response: Response) {
  const body = await response.json();
  checkResponse(t, '/api/v1/app-passwords/verify', 'POST', { status: response.status, headers: response.headers, body });
  return body;
}

function verify(hub: Hub, client: { client_id: string; client_secret?: string }, body: unknown) {
  return fetch(`${hub.url}/api/v1/app-passwords/verify`, {
    method: 'POST',
    headers: { authorization: basic(client), 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

test.serial('an app password per device: shown once in four groups, verified by its service, refused elsewhere and after revoke', async (t) => {
  const hub = await startTestHub(t);
  const person = await makePerson(hub);
  await makeService(hub, 'vezepyemail');
  await makeService(hub, 'vezepygame');
  const mail = await makeClient(hub, { service: 'vezepyemail' });
  const game = await makeClient(hub, { service: 'vezepygame' });
  const { page } = await newPage(t);
  await signInInBrowser(page, hub.url, person.email, person.password);

  const password = await createAppPassword(page, hub.url, 'Thunderbird on my laptop', 'desktop', 'VEZEPYEMAIL');
  t.regex(password, /^[a-z]{4} [a-z]{4} [a-z]{4} [a-z]{4}$/);
  const row = await hub.db('app_passwords').where({ user_id: person.id }).first();
  t.false(JSON.stringify(row).includes(password.replace(/ /g, '')), 'stored hashed');
  t.truthy(await hub.db('outbox').where({ type: 'app_password.created', user_id: person.id, service: 'vezepyemail' }).first());
  t.truthy(await hub.db('audit_log').where({ action: 'app_password.created', subject_id: person.id }).first());
  // Shown once: a reload lists it without the password.
  await page.goto(`${hub.url}/account/devices`);
  t.is(await page.locator('#new-app-password').count(), 0);
  t.regex((await page.locator('#app-passwords').textContent())!, /Thunderbird on my laptop[\s\S]*For VEZEPYEMAIL · created[\s\S]*Never used/);

  // The mail service verifies it (spaces ignored or kept).
  const good = await verify(hub, mail, { username: person.email.toUpperCase(), password });
  t.is(good.status, 200);
  t.deepEqual(await documented(t, good), { sub: person.id, device: 'Thunderbird on my laptop', device_type: 'desktop', service: 'vezepyemail' });
  t.is((await verify(hub, mail, { username: person.email, password: password.replace(/ /g, '') })).status, 200);
  await page.goto(`${hub.url}/account/devices`);
  t.regex((await page.locator('#app-passwords').textContent())!, /Last used .* from 127\.0\.0\.1/);

  // Another service, a wrong password, a wrong user: 401 problem+json.
  const elsewhere = await verify(hub, game, { username: person.email, password });
  t.is(elsewhere.status, 401);
  t.regex(elsewhere.headers.get('content-type') ?? '', /^application\/problem\+json/);
  await documented(t, elsewhere);
  t.is((await verify(hub, mail, { username: person.email, password: 'abcd efgh ijkl mnop' })).status, 401);
  const other = await makePerson(hub);
  t.is((await verify(hub, mail, { username: other.email, password })).status, 401);

  // Revoking asks first: cancelling keeps it working.
  await page.getByRole('button', { name: /^Revoke/ }).click();
  const dialog = page.getByRole('dialog');
  t.regex((await dialog.textContent()) ?? '', /Revoke the app password for Thunderbird on my laptop\?/);
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  t.is(await page.locator('#app-passwords .list-item').count(), 1);
  t.is((await verify(hub, mail, { username: person.email, password })).status, 200);

  // Confirmed: gone from the list in place, and refused.
  await page.getByRole('button', { name: /^Revoke/ }).click();
  await dialog.getByRole('button', { name: 'Revoke' }).click();
  await page.locator('#notifications').getByText(/App password revoked/).waitFor();
  t.regex((await page.locator('#app-passwords').textContent())!, /no app passwords/);
  t.is(new URL(page.url()).pathname, '/account/devices', 'updated in place, no navigation');
  t.is((await verify(hub, mail, { username: person.email, password })).status, 401);
  t.truthy(await hub.db('outbox').where({ type: 'app_password.revoked', user_id: person.id }).first());
});

test.serial('without JavaScript, revoking an app password asks once on a page of its own', async (t) => {
  const hub = await startTestHub(t);
  const person = await makePerson(hub);
  await makeService(hub, 'vezepyemail');
  const mail = await makeClient(hub, { service: 'vezepyemail' });
  const { page } = await newPage(t, { javaScriptEnabled: false, width: 360 });
  await signInInBrowser(page, hub.url, person.email, person.password);
  const password = await createAppPassword(page, hub.url, 'Old phone', 'phone', 'VEZEPYEMAIL');
  await page.goto(`${hub.url}/account/devices`);

  await page.getByRole('button', { name: /^Revoke/ }).click();
  await page.waitForURL(/\/account\/devices\/app-passwords\/[\w-]+\/revoke\??$/);
  t.is(await page.getByRole('heading', { level: 1 }).textContent(), 'Revoke the app password for Old phone?');
  t.true(await page.evaluate(() => document.documentElement.scrollWidth <= 360));
  await page.getByRole('link', { name: 'Cancel' }).click();
  await page.waitForURL(`${hub.url}/account/devices`);
  t.is((await verify(hub, mail, { username: person.email, password })).status, 200);

  await page.getByRole('button', { name: /^Revoke/ }).click();
  await page.getByRole('button', { name: 'Revoke', exact: true }).click();
  await page.waitForURL(/\/account\/devices\?notice=app-password-revoked$/);
  await page.getByText(/App password revoked/).waitFor();
  t.regex((await page.locator('#app-passwords').textContent())!, /no app passwords/);
  t.is((await verify(hub, mail, { username: person.email, password })).status, 401);
  // Asked again for what is gone: a clear 404, not a second revocation.
  const stale = await page.goto(`${new URL(page.url()).origin}/account/devices/app-passwords/${(await hub.db('app_passwords').where({ user_id: person.id }).first()).id}/revoke`);
  t.is(stale!.status(), 404);
});

test.serial('an "all services" app password works for every service; the client must authenticate; bad input is a 400', async (t) => {
  const hub = await startTestHub(t);
  const person = await makePerson(hub);
  await makeService(hub, 'vezepyemail');
  await makeService(hub, 'vezepygame');
  const mail = await makeClient(hub, { service: 'vezepyemail' });
  const game = await makeClient(hub, { service: 'vezepygame' });
  const { page } = await newPage(t);
  await signInInBrowser(page, hub.url, person.email, person.password);

  // A missing device name is shown on the form, with a 400.
  await page.goto(`${hub.url}/account/devices`);
  const refused = page.waitForResponse((r) => r.request().method() === 'POST' && !r.url().endsWith('/account/time-zone'));
  await page.getByRole('button', { name: 'Create app password' }).click();
  t.is((await refused).status(), 400);
  t.truthy(await page.locator('#device-name-error').textContent());

  const password = await createAppPassword(page, hub.url, 'Xbox', 'console', 'All services');
  t.is((await verify(hub, mail, { username: person.email, password })).status, 200);
  t.is((await (await verify(hub, game, { username: person.email, password })).json()).service, 'vezepygame');

  const badSecret = await verify(hub, { client_id: mail.client_id, client_secret: 'wrong' }, { username: person.email, password });
  t.is(badSecret.status, 401);
  t.regex(badSecret.headers.get('www-authenticate') ?? '', /^Basic/);
  const noAuth = await fetch(`${hub.url}/api/v1/app-passwords/verify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  t.is(noAuth.status, 401);
  const junk = await verify(hub, mail, { username: person.email });
  t.is(junk.status, 400);
  t.regex((await documented(t, junk)).detail, /password/);

  // Resetting the account password revokes every app password (the reset flow calls this).
  t.is(await revokeAllAppPasswords(hub.db, person.id), 1);
  t.is((await verify(hub, mail, { username: person.email, password })).status, 401);
});

test.serial('verification is rate-limited: after repeated wrong passwords even the right one is refused', async (t) => {
  const hub = await startTestHub(t);
  const person = await makePerson(hub);
  await makeService(hub, 'vezepyemail');
  const mail = await makeClient(hub, { service: 'vezepyemail' });
  const { page } = await newPage(t);
  await signInInBrowser(page, hub.url, person.email, person.password);
  const password = await createAppPassword(page, hub.url, 'Phone', 'phone', 'VEZEPYEMAIL');
  for (let i = 0; i < 10; i++) t.is((await verify(hub, mail, { username: person.email, password: 'aaaa bbbb cccc dddd' })).status, 401);
  t.is((await verify(hub, mail, { username: person.email, password })).status, 401);
  t.truthy(await hub.db('audit_log').where({ action: 'app_password.failed', subject_id: person.id }).whereRaw("data->>'locked' = 'true'").first());
});
