import test from 'ava';

// One at a time: each test runs a hub and a Chromium page, and the machine is small and shared.
import { appendEvent } from '../../src/outbox/outbox.ts';
import { grant, makeService } from '../helpers/fixtures.ts';
import { newPage, signInInBrowser } from '../helpers/browser.ts';
import { assertAccessible, serviceSession, signedInBrowser, userAgents } from './portal-helpers.ts';

const accountPages = ['/account', '/account/services', '/account/security', '/account/devices', '/account/sessions', '/account/privacy', '/account/activity', '/account/privacy/delete'];

test.serial('home greets the person, shows their services as tiles, the security check-up and the latest activity', async (t) => {
  const { hub, person, page } = await signedInBrowser(t, { name: 'Grace Hopper' });
  await makeService(hub, 'vezepygame');
  await hub.db('services').where({ slug: 'vezepygame' }).update({ name: 'VEZEPyGame', url: 'https://game.veze.test' });
  await grant(hub, person.email, 'vezepygame', 'pro');
  await page.goto(`${hub.url}/account`);
  t.is(await page.getByRole('heading', { level: 1 }).textContent(), 'Welcome, Grace Hopper');
  t.is(await page.locator('.topbar-name').textContent(), 'Grace Hopper');
  t.is(await page.locator('.topbar').getByRole('link', { name: 'Sign out' }).getAttribute('href'), '/account/signout');
  const tile = page.locator('.service-tile', { hasText: 'VEZEPyGame' });
  t.regex((await tile.textContent()) ?? '', /pro/);
  t.regex((await tile.textContent()) ?? '', /Active/);
  t.is(await tile.getByRole('link', { name: /Open/ }).getAttribute('href'), 'https://game.veze.test');
  const security = page.locator('section', { has: page.getByRole('heading', { name: 'Security', exact: true }) });
  t.regex((await security.textContent()) ?? '', /2-step verification\s*Off/);
  t.regex((await security.textContent()) ?? '', /Passkeys\s*0/);
  t.is(await security.getByRole('link', { name: 'Turn on 2-step' }).getAttribute('href'), '/account/security');
  const activity = page.locator('section', { has: page.getByRole('heading', { name: 'Latest activity' }) });
  t.regex((await activity.textContent()) ?? '', /You got VEZEPyGame \(pro\)/);
  t.regex((await activity.textContent()) ?? '', /You signed in on Chrome on Linux/, 'the sign-in, with the device it was made on');
  await assertAccessible(t, page);
});

test.serial('services lists each service with tier, expiry, what it may see and a link to open it; the list pages in place', async (t) => {
  const { hub, person, page } = await signedInBrowser(t);
  await makeService(hub, 'vezepygame');
  await hub.db('services').where({ slug: 'vezepygame' }).update({ name: 'A VEZEPyGame', url: 'https://game.veze.test' });
  await grant(hub, person.email, 'vezepygame', 'pro', '2031-01-31T00:00:00Z');
  await serviceSession(hub, person, 'vezepygame', userAgents.playStation, 'openid email');
  for (let i = 0; i < 12; i++) {
    const s = await makeService(hub, `svc-${String(i).padStart(2, '0')}`);
    await grant(hub, person.email, s.slug, 'basic');
  }
  await page.goto(`${hub.url}/account/services`);
  const card = page.locator('.service-card', { hasText: 'A VEZEPyGame' });
  const text = (await card.textContent()) ?? '';
  t.regex(text, /pro/);
  // The date in the person's language and zone (UTC until they have one), the instant in <time datetime>.
  t.regex(text, /Jan 31, 2031/);
  t.is(await card.locator('time').first().getAttribute('datetime'), '2031-01-31T00:00:00.000Z');
  t.regex(text, /Your email address/);
  t.regex(text, /That it is you/);
  t.notRegex(text, /Your name/);
  t.is(await card.getByRole('link', { name: 'Open A VEZEPyGame' }).getAttribute('href'), 'https://game.veze.test');
  t.is(await page.locator('.service-card').count(), 12);
  await assertAccessible(t, page);
  await page.getByRole('link', { name: /Next/ }).click();
  await page.waitForURL(/page=2/);
  t.is(await page.locator('.service-card').count(), 1);
  t.is(await page.getByRole('heading', { level: 1 }).count(), 1, 'the list was swapped in place, the page kept');
});

test.serial('activity groups what happened by day, newest first, filters by service in place, and pages to older days', async (t) => {
  const { hub, person, page } = await signedInBrowser(t);
  await makeService(hub, 'vezepygame');
  await hub.db('services').where({ slug: 'vezepygame' }).update({ name: 'VEZEPyGame' });
  await makeService(hub, 'vezepyemail');
  await hub.db('services').where({ slug: 'vezepyemail' }).update({ name: 'VEZEPyEmail' });
  const day = 86_400_000;
  await hub.db.transaction(async (trx) => {
    for (let i = 0; i < 30; i++) await appendEvent(trx, { type: 'email.sent', userId: person.id, service: 'vezepyemail', data: {}, occurredAt: new Date(Date.now() - 3 * day - i * 1000) });
    await appendEvent(trx, { type: 'game.match.finished', userId: person.id, service: 'vezepygame', data: {}, occurredAt: new Date(Date.now() - day) });
    await appendEvent(trx, { type: 'game.level.reached', userId: person.id, service: 'vezepygame', data: {}, occurredAt: new Date() });
  });
  await page.goto(`${hub.url}/account/activity`);
  const headings = await page.locator('#activity-list .day-heading').allTextContents();
  t.is(headings[0], 'Today');
  t.is(headings[1], 'Yesterday');
  t.regex((await page.locator('#activity-list .day').first().textContent()) ?? '', /VEZEPyGame: Game level reached/);
  await assertAccessible(t, page);

  await page.getByLabel('Service').selectOption('vezepygame');
  await page.waitForURL(/service=vezepygame/);
  await page.locator('#activity-list', { hasNotText: 'Email sent' }).waitFor();
  t.is(await page.locator('#activity-list .timeline li').count(), 2);

  await page.goto(`${hub.url}/account/activity?service=vezepyemail`);
  t.is(await page.locator('#activity-list .timeline li').count(), 25);
  await page.getByRole('link', { name: /Older activity/ }).click();
  await page.waitForURL(/before=/);
  await page.getByRole('link', { name: /Newest/ }).waitFor();
  t.is(await page.locator('#activity-list .timeline li').count(), 5);
});

test.serial('every account page reads without JavaScript, at 360 px, with the top bar and navigation', async (t) => {
  const { hub, page } = await signedInBrowser(t, { javaScriptEnabled: false, width: 360 });
  for (const path of accountPages) {
    const response = await page.goto(`${hub.url}${path}`);
    t.is(response?.status(), 200, path);
    t.is(await page.getByRole('heading', { level: 1 }).count(), 1, path);
    t.is(await page.getByRole('navigation', { name: 'Account sections' }).count(), 1, path);
    t.true(await page.getByRole('link', { name: 'Sign out' }).first().isVisible(), path);
  }
});

test.serial('every account page fits 360 px, in light and dark, and passes the accessibility check', async (t) => {
  const { hub, person } = await signedInBrowser(t);
  for (const colorScheme of ['light', 'dark'] as const) {
    const { page } = await newPage(t, { width: 360 });
    await page.emulateMedia({ colorScheme });
    page.setDefaultTimeout(60_000);
    await signInInBrowser(page, hub.url, person.email, person.password);
    for (const path of accountPages) {
      await page.goto(`${hub.url}${path}`);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      t.true(overflow <= 0, `${path} is ${overflow}px wider than 360 px (${colorScheme})`);
      await assertAccessible(t, page, `${path} (${colorScheme}, 360 px)`);
    }
  }
});

test.serial('the notification area shows what happens live (htmx SSE on /hub/events)', async (t) => {
  const { hub, person, page } = await signedInBrowser(t);
  await makeService(hub, 'vezepygame');
  await hub.db('services').where({ slug: 'vezepygame' }).update({ name: 'VEZEPyGame' });
  await page.goto(`${hub.url}/account`);
  // The stream opens a moment after the page: change the tier until a change arrives live (bounded).
  const live = /(New entitlement available: vezepygame|Your vezepygame plan is now) tier\d+/i;
  const deadline = Date.now() + 30_000;
  for (let n = 1; !live.test((await page.locator('#notifications').textContent()) ?? ''); n++) {
    if (Date.now() > deadline) throw new Error('no live notification arrived within 30 s');
    await grant(hub, person.email, 'vezepygame', `tier${n}`);
    await page.waitForFunction(() => document.querySelector('#notifications .toast'), undefined, { timeout: 1000 }).catch(() => undefined);
  }
  t.regex((await page.locator('#notifications').textContent())!, live);
});
