import test from 'ava';

// One at a time: each test runs a hub and a Chromium page, and the machine is small and shared.
import type { Hub } from '../../src/app/start.ts';
import { grant, makeService } from '../helpers/fixtures.ts';
import { assertAccessible, providerRows, serviceSession, signedInBrowser, userAgents } from './portal-helpers.ts';

/** The OpenID scopes of the person's grants to services (not the portal's own). */
const grantScopes = async (hub: Hub, userId: string) =>
  (await hub.db('oidc_models').where({ model: 'Grant', account_id: userId }).whereRaw("payload->>'clientId' <> 'uniqverse-portal'").select('payload')).map(
    (r: { payload: { openid?: { scope?: string } } }) => r.payload.openid?.scope ?? '',
  );

test.serial('a toggle saves at once (htmx), takes the email out of the service\'s grant, and tells the service', async (t) => {
  const { hub, person, page } = await signedInBrowser(t);
  await makeService(hub, 'vezepymail');
  await hub.db('services').where({ slug: 'vezepymail' }).update({ name: 'VEZEPyMail' });
  await serviceSession(hub, person, 'vezepymail', userAgents.iPhone);
  t.regex((await grantScopes(hub, person.id))[0]!, /\bemail\b/);

  await page.goto(`${hub.url}/account/privacy`);
  const card = page.locator('#privacy-vezepymail');
  t.regex((await card.textContent()) ?? '', /Connected/);
  await assertAccessible(t, page);
  await card.getByLabel('Your email address').uncheck();
  await page.getByText('VEZEPyMail: your choices are saved.').waitFor();
  t.false(await page.locator('#privacy-vezepymail').getByLabel('Your email address').isChecked());

  t.notRegex((await grantScopes(hub, person.id))[0]!, /\bemail\b/);
  const consent = await hub.db('service_consents').where({ user_id: person.id }).first();
  t.like(consent, { share_email: false, share_profile: true, share_activity: true });
  const event = await hub.db('outbox').where({ user_id: person.id, type: 'consent.changed' }).first();
  t.like(event?.data, { service: 'vezepymail', email: false, profile: true, activity: true });

  // The services page no longer lists the email among what it may see.
  await page.goto(`${hub.url}/account/services`);
  const seen = (await page.locator('.service-card', { hasText: 'VEZEPyMail' }).textContent()) ?? '';
  t.regex(seen, /Your name/);
  t.notRegex(seen, /Your email address/);
});

test.serial('"Disconnect" asks once, then removes the grant and its refresh tokens, in place', async (t) => {
  const { hub, person, page } = await signedInBrowser(t);
  await makeService(hub, 'vezepygame');
  const game = await serviceSession(hub, person, 'vezepygame', userAgents.playStation);
  t.true(((await providerRows(hub, person.id)).RefreshToken ?? 0) >= 1);
  await page.goto(`${hub.url}/account/privacy`);
  await page.locator('#privacy-vezepygame').getByRole('button', { name: /Disconnect/ }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Disconnect' }).click();
  await page.getByText(/is disconnected/).waitFor();
  t.regex((await page.locator('#privacy-vezepygame').textContent()) ?? '', /Not connected/);
  t.deepEqual(await grantScopes(hub, person.id), []);
  t.falsy((await providerRows(hub, person.id)).RefreshToken);
  const refresh = await fetch(`${hub.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${game.client.client_id}:${game.client.client_secret}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: game.tokens.refresh_token! }),
  });
  t.is(refresh.status, 400);
});

test.serial('without JavaScript the toggles save with the Save button, and "Disconnect" asks on a page', async (t) => {
  const { hub, person, page } = await signedInBrowser(t, { javaScriptEnabled: false });
  await makeService(hub, 'vezepygame');
  await serviceSession(hub, person, 'vezepygame', userAgents.playStation);
  await page.goto(`${hub.url}/account/privacy`);
  const card = page.locator('#privacy-vezepygame');
  await card.getByLabel('Your activity').uncheck();
  await card.getByRole('button', { name: /Save/ }).click();
  await page.waitForURL(/notice=saved/);
  t.is(await page.locator('#notifications .toast').textContent(), 'Your choices are saved.');
  t.false(await page.locator('#privacy-vezepygame').getByLabel('Your activity').isChecked());
  await page.locator('#privacy-vezepygame').getByRole('button', { name: /Disconnect/ }).click();
  t.is(await page.getByRole('heading', { level: 1 }).textContent(), 'Disconnect VEZEPYGAME?');
  await page.getByRole('button', { name: 'Disconnect' }).click();
  await page.waitForURL(/notice=disconnected/);
  t.deepEqual(await grantScopes(hub, person.id), []);
});

test.serial('"Download my data" is a JSON attachment with services by name and no secrets or hashes', async (t) => {
  const { hub, person, page } = await signedInBrowser(t);
  await makeService(hub, 'vezepygame');
  await hub.db('services').where({ slug: 'vezepygame' }).update({ name: 'VEZEPyGame' });
  await grant(hub, person.email, 'vezepygame', 'pro');
  await serviceSession(hub, person, 'vezepygame', userAgents.playStation);
  await page.goto(`${hub.url}/account/privacy`);
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download my data' }).click()]);
  t.regex(download.suggestedFilename(), /^uniqverse-data-\d{4}-\d{2}-\d{2}\.json$/);
  const text = await (await download.createReadStream()).toArray().then((chunks) => Buffer.concat(chunks).toString('utf8'));
  const data = JSON.parse(text);
  t.is(data.account.email, person.email);
  t.is(data.account.name, person.name);
  t.like(data, { format: 'uniqverse-personal-data', version: 2 });
  t.like(data.services.overview.find((s: { service: string }) => s.service === 'VEZEPyGame'), { tier: 'pro', connected: true });
  t.like(data.services.tiers.find((s: { service: string }) => s.service === 'VEZEPyGame'), { tier: 'pro' });
  t.true(data.sessions.open.some((s: { device: string }) => s.device === 'PlayStation 5'));
  t.true(data.activity.some((a: { type: string }) => a.type === 'entitlement.granted'));
  const hash = (await hub.db('users').where({ id: person.id }).first('password_hash')).password_hash as string;
  t.false(text.includes(hash));
  t.false(text.includes('$argon2'));
  t.false(/password_hash|secret|client_secret|code_hash|public_key/.test(text));
});

test.serial('"Delete account" asks for the password, says what is wrong next to it, then ends everything and tells every service', async (t) => {
  const { hub, person, page } = await signedInBrowser(t);
  await makeService(hub, 'vezepygame');
  await serviceSession(hub, person, 'vezepygame', userAgents.playStation);
  await page.goto(`${hub.url}/account/privacy`);
  await page.getByRole('link', { name: 'Delete account…' }).click();
  await assertAccessible(t, page);
  await page.getByLabel('Your password').fill('not my password');
  await page.getByRole('button', { name: 'Delete my account' }).click();
  t.is(await page.locator('#f-password-error').textContent(), 'That is not your password.');
  t.is(await page.getByLabel('Your password').getAttribute('aria-invalid'), 'true');
  t.truthy(await hub.db('users').where({ id: person.id }).first());

  await page.getByLabel('Your password').fill(person.password);
  await page.getByRole('button', { name: 'Delete my account' }).click();
  await page.waitForURL(`${hub.url}/account-deleted`);
  t.is(await page.getByRole('heading', { level: 1 }).textContent(), 'Your account is deleted');
  t.falsy(await hub.db('users').where({ id: person.id }).first());
  t.deepEqual(await providerRows(hub, person.id), {});
  const deleted = await hub.db('outbox').where({ user_id: person.id, type: 'user.deleted' }).first();
  t.deepEqual(deleted?.data, {}, 'user.deleted names the person by id only');
  await page.goto(`${hub.url}/account`);
  t.regex(page.url(), /\/interaction\//, 'signed out: the portal asks to sign in again');
});
