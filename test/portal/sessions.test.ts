import test from 'ava';

// One at a time: each test runs a hub and a Chromium page, and the machine is small and shared.
import { makeService } from '../helpers/fixtures.ts';
import { assertAccessible, eventually, providerRows, serviceSession, signedInBrowser, userAgents } from './portal-helpers.ts';

test.serial('sessions lists every device by name with its address, services and last activity; "Sign out" on one ends it in place (htmx + dialog)', async (t) => {
  const { hub, person, page } = await signedInBrowser(t);
  await makeService(hub, 'vezepygame');
  await hub.db('services').where({ slug: 'vezepygame' }).update({ name: 'VEZEPyGame' });
  const console = await serviceSession(hub, person, 'vezepygame', userAgents.playStation);

  await page.goto(`${hub.url}/account/sessions`);
  const items = page.locator('#session-list .list-item');
  t.is(await items.count(), 2);
  const ps5 = items.filter({ hasText: 'PlayStation 5' });
  t.regex((await ps5.textContent()) ?? '', /IP 127\.0\.0\.1/);
  t.regex((await ps5.textContent()) ?? '', /Used for: VEZEPyGame/);
  t.regex((await ps5.textContent()) ?? "", /Last active [A-Z][a-z]{2} \d{1,2}, \d{4}/);
  const mine = items.filter({ hasText: 'This device' });
  t.regex((await mine.textContent()) ?? '', /Chrome on Linux|Chrome/);
  await assertAccessible(t, page);

  const before = await providerRows(hub, person.id);
  t.true((before.RefreshToken ?? 0) >= 1);
  await ps5.getByRole('button', { name: /Sign out/ }).click();
  const dialog = page.getByRole('dialog');
  t.regex((await dialog.textContent()) ?? '', /Sign out PlayStation 5\?/);
  await dialog.getByRole('button', { name: 'Sign out' }).click();
  await page.getByText('That session is signed out.').waitFor();
  t.is(await page.locator('#session-list .list-item').count(), 1);
  t.is(new URL(page.url()).pathname, '/account/sessions', 'updated in place, no navigation');

  // The console's session, grant and tokens are gone; the browser's own session stays.
  const after = await providerRows(hub, person.id);
  t.is(after.Session, 1);
  t.falsy(after.RefreshToken);
  const refused = await console.agent.request(`${hub.url}/me`, { headers: { authorization: `Bearer ${console.tokens.access_token}` } });
  t.is(refused.status, 401);
  const revoked = await hub.db('outbox').where({ user_id: person.id, type: 'session.revoked' }).first();
  t.truthy(revoked);
});

test.serial('cancelling the dialog keeps the session', async (t) => {
  const { hub, person, page } = await signedInBrowser(t);
  await makeService(hub, 'vezepygame');
  await serviceSession(hub, person, 'vezepygame', userAgents.iPhone);
  await page.goto(`${hub.url}/account/sessions`);
  await page.locator('.list-item', { hasText: 'Safari on iPhone' }).getByRole('button', { name: /Sign out/ }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
  t.is(await page.locator('#session-list .list-item').count(), 2);
  t.is((await providerRows(hub, person.id)).Session, 2);
  // The page that asks without JavaScript passes the accessibility check too.
  const uid = await page.locator('.list-item', { hasText: 'Safari on iPhone' }).getAttribute('id');
  await page.goto(`${hub.url}/account/sessions/${uid!.replace('session-', '')}/sign-out`);
  t.is(await page.getByRole('heading', { level: 1 }).textContent(), 'Sign out this session?');
  await assertAccessible(t, page);
});

test.serial('"Sign out everywhere else" keeps only this browser', async (t) => {
  const { hub, person, page } = await signedInBrowser(t);
  await makeService(hub, 'vezepygame');
  await serviceSession(hub, person, 'vezepygame', userAgents.playStation);
  await serviceSession(hub, person, 'vezepygame', userAgents.iPhone);
  await page.goto(`${hub.url}/account/sessions`);
  t.is(await page.locator('#session-list .list-item').count(), 3);
  await page.getByRole('button', { name: 'Sign out everywhere else' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Sign out everywhere else' }).click();
  await page.getByText('Every other session is signed out.').waitFor();
  t.is(await page.locator('#session-list .list-item').count(), 1);
  t.is(await page.getByRole('button', { name: 'Sign out everywhere else' }).count(), 0);
  t.is((await providerRows(hub, person.id)).Session, 1);
  // Still signed in here.
  await page.goto(`${hub.url}/account`);
  t.is(new URL(page.url()).pathname, '/account');
});

test.serial('without JavaScript, the list reads, and "Sign out" asks once on a page of its own', async (t) => {
  const { hub, person, page } = await signedInBrowser(t, { javaScriptEnabled: false, width: 360 });
  await makeService(hub, 'vezepygame');
  await serviceSession(hub, person, 'vezepygame', userAgents.playStation);
  await page.goto(`${hub.url}/account/sessions`);
  t.is(await page.locator('#session-list .list-item').count(), 2);
  t.true(await page.evaluate(() => document.documentElement.scrollWidth <= 360));
  await page.locator('.list-item', { hasText: 'PlayStation 5' }).getByRole('button', { name: /Sign out/ }).click();
  t.is(await page.getByRole('heading', { level: 1 }).textContent(), 'Sign out this session?');
  await page.getByRole('button', { name: 'Sign out', exact: true }).last().click();
  await page.waitForURL(/\/account\/sessions\?notice=signed-out/);
  t.is(await page.locator('#notifications .toast').textContent(), 'That session is signed out.');
  t.is(await page.locator('#session-list .list-item').count(), 1);
  await eventually(async () => (await providerRows(hub, person.id)).Session === 1, 'one session left');
  t.pass();
});
