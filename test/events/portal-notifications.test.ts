import test from 'ava';
import { grant, makePerson } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { UserAgent } from '../helpers/user-agent.ts';
import { createService } from '../../src/catalog/services.ts';
import { launchBrowser, newPage, signInInBrowser } from '../helpers/browser.ts';
import { userAgents } from '../portal/named-agent.ts';
import { SseClient } from './helpers.ts';

test('the portal\'s notification area (htmx SSE) gets toasts: "New entitlement available: VEZEPyGame pro"', async (t) => {
  const hub = await startTestHub(t);
  await createService(hub.db, { slug: 'vezepygame', name: 'VEZEPyGame' });
  await createService(hub.db, { slug: 'evil', name: '<script>alert(1)</script>' });
  const person = await makePerson(hub);
  const agent = new UserAgent();
  const { response } = await agent.follow(`${hub.url}/account/signin`, hub.url);
  const uid = /\/interaction\/([\w-]+)\/login/.exec(await response.text())![1];
  const posted = await agent.postForm(`${hub.url}/interaction/${uid}/login`, { email: person.email, password: person.password });
  await agent.follow(new URL(posted.headers.get('location')!, hub.url).href, hub.url);

  // What htmx's SSE extension sends when the layout says hx-sse:connect="/hub/events".
  const sse = await SseClient.open(`${hub.url}/hub/events`, { cookie: agent.cookieHeader(), 'hx-request': 'true', accept: 'text/html, text/event-stream' });
  t.teardown(() => sse.close());
  t.is(sse.status, 200);
  await sse.waitFor((m) => m.event === 'ready');
  await grant(hub, person.email, 'vezepygame', 'pro');
  await grant(hub, person.email, 'evil', 'basic');
  const toast = await sse.waitFor((m) => m.event === 'message' && m.data.includes('VEZEPyGame'));
  t.is(toast.data, '<p class="toast" data-event="entitlement.granted">New entitlement available: VEZEPyGame pro</p>');
  t.regex(toast.id!, /^\d+-\d+$/);
  const escaped = await sse.waitFor((m) => m.event === 'message' && m.data.includes('alert'));
  t.false(escaped.data.includes('<script>'));
  t.true(escaped.data.includes('&lt;script&gt;'));
});

test('signed in in one browser, a person sees "New sign-in from Safari on iPhone" when they sign in on their phone', async (t) => {
  const hub = await startTestHub(t);
  const person = await makePerson(hub);
  const { page } = await newPage(t);
  page.setDefaultTimeout(60_000);
  // The portal opens its notification stream (htmx SSE) once the account page has loaded.
  const streamOpen = page.waitForResponse((r) => new URL(r.url()).pathname === '/hub/events' && r.status() === 200);
  await signInInBrowser(page, hub.url, person.email, person.password);
  await streamOpen;

  const phone = await (await launchBrowser()).newContext({ userAgent: userAgents.iPhone, viewport: { width: 390, height: 844 } });
  t.teardown(() => phone.close());
  const phonePage = await phone.newPage();
  phonePage.setDefaultTimeout(60_000);
  await signInInBrowser(phonePage, hub.url, person.email, person.password);

  const toast = page.locator('#notifications .toast', { hasText: 'New sign-in from Safari on iPhone' });
  await toast.waitFor({ timeout: 30_000 });
  t.is(await toast.getAttribute('data-event'), 'session.created');
});

test('a toast speaks the language the browser asks for: "Neue Berechtigung verfügbar: VEZEPyGame pro"', async (t) => {
  const hub = await startTestHub(t);
  await createService(hub.db, { slug: 'vezepygame', name: 'VEZEPyGame' });
  const person = await makePerson(hub);
  const agent = new UserAgent();
  const { response } = await agent.follow(`${hub.url}/account/signin`, hub.url);
  const uid = /\/interaction\/([\w-]+)\/login/.exec(await response.text())![1];
  const posted = await agent.postForm(`${hub.url}/interaction/${uid}/login`, { email: person.email, password: person.password });
  await agent.follow(new URL(posted.headers.get('location')!, hub.url).href, hub.url);

  const sse = await SseClient.open(`${hub.url}/hub/events`, { cookie: agent.cookieHeader(), 'hx-request': 'true', accept: 'text/html, text/event-stream', 'accept-language': 'de-DE,de;q=0.9' });
  t.teardown(() => sse.close());
  await sse.waitFor((m) => m.event === 'ready');
  await grant(hub, person.email, 'vezepygame', 'pro');
  const toast = await sse.waitFor((m) => m.event === 'message' && m.data.includes('VEZEPyGame'));
  t.is(toast.data, '<p class="toast" data-event="entitlement.granted">Neue Berechtigung verfügbar: VEZEPyGame pro</p>');
});
