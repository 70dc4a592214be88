import test from 'ava';

// One at a time: each test runs a hub and a Chromium page, and the machine is small and shared.
import { appendAudit } from '../../src/audit/audit-log.ts';
import { newPage, signInInBrowser } from '../helpers/browser.ts';
import { UserAgent } from '../helpers/user-agent.ts';
import { assertAccessible, signedInBrowser, userAgents } from './portal-helpers.ts';

test.serial('the security page lists the person\'s own sign-ins and changes: what, when, from which device and address, refusals marked', async (t) => {
  const { hub, person, page } = await signedInBrowser(t);
  // A wrong password typed on a PlayStation, through the real sign-in form.
  const console = new UserAgent();
  const { url } = await console.follow(`${hub.url}/account`, hub.url, { headers: { 'user-agent': userAgents.playStation } });
  const uid = /\/interaction\/([\w-]+)/.exec(url)?.[1] ?? /\/interaction\/([\w-]+)/.exec(await (await console.request(url)).text())?.[1];
  t.truthy(uid, 'a sign-in form');
  const refused = await console.request(`${hub.url}/interaction/${uid}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': userAgents.playStation },
    body: new URLSearchParams({ email: person.email, password: 'not my password' }).toString(),
  });
  t.is(refused.status, 401);

  await page.goto(`${hub.url}/account/security`);
  const log = page.locator('#security-activity li');
  t.is(await log.count(), 2);
  t.regex((await log.nth(0).textContent()) ?? '', /Sign-in refused: wrong password[\s\S]*UTC · PlayStation 5 · 127\.0\.0\.1/);
  t.is(await log.nth(0).getAttribute('class'), 'refused');
  t.regex((await log.nth(1).textContent()) ?? '', /Signed in[\s\S]*UTC · Chrome on Linux · 127\.0\.0\.1/);
  await assertAccessible(t, page);
});

test.serial('the security activity pages in place (htmx), and reads without JavaScript', async (t) => {
  const { hub, person, page } = await signedInBrowser(t);
  for (let i = 1; i <= 12; i++) {
    await appendAudit(hub.db, { action: 'mfa.enrolled', actorId: person.id, subjectId: person.id, ip: '192.0.2.9', userAgent: userAgents.iPhone, data: { method: 'passkey', name: `Key ${i}` } });
  }
  // Not the person's own: another account's entry and an administrator's act on a service.
  await appendAudit(hub.db, { action: 'signin.succeeded', subjectId: null, data: {} });
  await appendAudit(hub.db, { action: 'service.registered', actorId: person.id, data: { slug: 'x' } });

  await page.goto(`${hub.url}/account/security`);
  const log = page.locator('#security-activity li');
  t.is(await log.count(), 10);
  t.regex((await log.first().textContent()) ?? '', /Passkey added: Key 12[\s\S]*Safari on iPhone · 192\.0\.2\.9/);
  await page.getByRole('link', { name: /Older/ }).click();
  await page.waitForURL(/page=2/);
  await page.getByRole('link', { name: /Newer/ }).waitFor();
  t.is(await log.count(), 3);
  t.regex((await log.last().textContent()) ?? '', /Signed in/);
  t.is(await page.getByRole('heading', { name: 'Password', exact: true }).count(), 1, 'swapped in place: the rest of the page is still there');

  const { page: plain } = await newPage(t, { javaScriptEnabled: false });
  await signInInBrowser(plain, hub.url, person.email, person.password);
  const response = await plain.goto(`${hub.url}/account/security?page=2`);
  t.is(response?.status(), 200);
  t.is(await plain.locator('#security-activity li').count(), 4, 'the second page, with the new sign-in on page one');
});
