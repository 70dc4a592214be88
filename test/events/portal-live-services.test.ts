import test from 'ava';
import type { Page } from 'playwright-core';
import { cliActor } from '../../src/audit/actors.ts';
import { revokeEntitlement } from '../../src/catalog/entitlements.ts';
import { createService } from '../../src/catalog/services.ts';
import { grant, makePerson } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { newPage, signInInBrowser } from '../helpers/browser.ts';

/** The plan each service card on the page shows, by service name. */
const plans = (page: Page, list: string) =>
  page.$$eval(`${list} li`, (cards) => Object.fromEntries(cards.map((card) => [card.querySelector('h2, h3')?.textContent?.trim() ?? '', card.querySelector('dd')?.textContent?.trim() ?? ''])));

async function waitForPlan(page: Page, list: string, service: string, plan: (text: string | undefined) => boolean) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const shown = (await plans(page, list))[service];
    if (plan(shown)) return shown;
    if (Date.now() > deadline) throw new Error(`${list}: ${service} still shows ${shown}`);
    await page.waitForTimeout(100);
  }
}

test('open portal pages hear a tier end or expire: a toast, and the list of services redraws without it', async (t) => {
  const hub = await startTestHub(t, { env: { ENTITLEMENT_EXPIRY_SWEEP_SECONDS: '1' } });
  await createService(hub.db, { slug: 'vezepygame', name: 'VEZEPyGame' });
  await createService(hub.db, { slug: 'vezepyemail', name: 'VEZEPyEmail' });
  const person = await makePerson(hub);
  await grant(hub, person.email, 'vezepygame', 'pro');
  const { page } = await newPage(t);
  page.setDefaultTimeout(30_000);
  await signInInBrowser(page, hub.url, person.email, person.password);
  const streamOpen = page.waitForResponse((r) => new URL(r.url()).pathname === '/hub/events' && r.status() === 200);
  await page.goto(`${hub.url}/account/services`);
  await streamOpen;
  t.regex((await plans(page, '#service-list'))['VEZEPyGame']!, /^pro/);

  await revokeEntitlement(hub.db, { email: person.email, service: 'vezepygame' }, cliActor());
  const ended = page.locator('#notifications .toast', { hasText: 'Your VEZEPyGame plan ended' });
  await ended.waitFor();
  t.is(await ended.getAttribute('data-event'), 'entitlement.revoked');
  await waitForPlan(page, '#service-list', 'VEZEPyGame', (plan) => !plan?.startsWith('pro'));

  // A tier with an expiry a few seconds ahead: shown when granted, gone when it passes.
  await grant(hub, person.email, 'vezepyemail', 'basic', new Date(Date.now() + 3000).toISOString());
  await waitForPlan(page, '#service-list', 'VEZEPyEmail', (plan) => plan?.startsWith('basic') === true);
  const expired = page.locator('#notifications .toast', { hasText: 'Your VEZEPyEmail basic plan expired' });
  await expired.waitFor();
  t.is(await expired.getAttribute('data-event'), 'entitlement.expired');
  await waitForPlan(page, '#service-list', 'VEZEPyEmail', (plan) => !plan?.startsWith('basic'));

  // The account's home page shows the services too, and redraws them alike.
  await grant(hub, person.email, 'vezepygame', 'gold');
  const homeStream = page.waitForResponse((r) => new URL(r.url()).pathname === '/hub/events' && r.status() === 200);
  await page.goto(`${hub.url}/account`);
  await homeStream;
  t.truthy(await page.locator('#home-services', { hasText: 'gold' }).count());
  await revokeEntitlement(hub.db, { email: person.email, service: 'vezepygame' }, cliActor());
  await page.locator('#notifications .toast', { hasText: 'Your VEZEPyGame plan ended' }).waitFor();
  await page.waitForFunction(() => !document.querySelector('#home-services')?.textContent?.includes('gold'));
  t.pass();
});
