import test from 'ava';
import { eventually } from '../events/helpers.ts';
import { auditEntriesOf } from '../helpers/audit.ts';
import { newPage, signInInBrowser } from '../helpers/browser.ts';
import { grant, makePerson, makeService } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { assertAccessible, csrfTokenOf, signedInAgent, userAgents } from '../portal/portal-helpers.ts';
import { browserKeys, decryptWebPush, pushServices } from './push-services.ts';

test('the notifications page: settings saved (audited, with an event), a bad time refused with the field marked, nothing half saved', async (t) => {
  const hub = await startTestHub(t);
  const ada = await makePerson(hub, { name: 'Ada' });
  const agent = await signedInAgent(hub, ada);
  const page = await agent.request(`${hub.url}/account/notifications`);
  t.is(page.status, 200);
  const html = await page.text();
  t.true(html.includes(`data-vapid-key="${hub.events.push.publicKey()}"`), 'the key the browser subscribes with');
  t.true(html.includes('Turn on notifications for this browser'));
  t.true(html.includes('href="/account/notifications" aria-current="page"'), 'in the portal’s navigation');
  const csrf = await csrfTokenOf(agent, hub);

  const refused = await agent.postForm(`${hub.url}/account/notifications`, { _csrf: csrf, kinds: 'sign_in', quiet_start: '25:00', quiet_end: '07:00' });
  t.is(refused.status, 400);
  const refusedHtml = await refused.text();
  t.regex(refusedHtml, /id="quiet-start-error">Give a time as HH:MM, such as 22:00\./);
  t.is(await hub.db('notification_settings').where({ user_id: ada.id }).first(), undefined);
  const half = await agent.postForm(`${hub.url}/account/notifications`, { _csrf: csrf, kinds: 'sign_in', quiet_start: '22:00', quiet_end: '' });
  t.is(half.status, 400);
  t.regex(await half.text(), /Give both the start and the end of the quiet hours, or neither\./);

  const body = new URLSearchParams([['_csrf', csrf], ['kinds', 'sign_in'], ['kinds', 'service_notices'], ['quiet_start', '22:30'], ['quiet_end', '07:00']]);
  const saved = await agent.request(`${hub.url}/account/notifications`, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  t.is(saved.status, 303);
  t.is(saved.headers.get('location'), '/account/notifications?notice=saved');
  t.like(await hub.db('notification_settings').where({ user_id: ada.id }).first(), { kinds: ['sign_in', 'service_notices'], quiet_start: 22 * 60 + 30, quiet_end: 7 * 60 });
  const [audited] = await auditEntriesOf(hub.db, ada.id, 'notification_settings.changed');
  t.like(audited, { actor_id: ada.id, data: { kinds: ['sign_in', 'service_notices'], quiet_start: 1350, quiet_end: 420 } });
  t.truthy(await hub.db('outbox').where({ type: 'notification_settings.changed', user_id: ada.id }).first());
  const after = await (await agent.request(`${hub.url}/account/notifications?notice=saved`)).text();
  t.true(after.includes('Your notification settings are saved.'));
  t.true(after.includes('value="22:30"') && after.includes('value="07:00"'));
  t.regex(after, /value="service_notices" checked/);
  t.notRegex(after, /value="entitlements" checked/);

  const forged = await agent.postForm(`${hub.url}/account/notifications`, { kinds: 'sign_in' });
  t.is(forged.status, 403, 'no CSRF token, no change');
});

test('“this browser” from the portal: its PushSubscription saved for the person (no device), pushed to end to end, listed, switched off and removed', async (t) => {
  const services = await pushServices();
  t.teardown(() => services.close());
  const hub = await startTestHub(t, { env: { PUSH_CA: services.ca, PUSH_PRIVATE_ENDPOINTS: 'true' } });
  await makeService(hub, 'vezepygame');
  const ada = await makePerson(hub, { name: 'Ada' });
  const agent = await signedInAgent(hub, ada, userAgents.macChrome);
  const csrf = await csrfTokenOf(agent, hub);
  const keys = browserKeys();
  const subscription = JSON.stringify({ endpoint: `${services.url}/push/portal`, expirationTime: null, keys: { p256dh: keys.p256dh, auth: keys.auth } });

  t.is((await agent.postForm(`${hub.url}/account/notifications/browser`, { _csrf: csrf, subscription: '{' })).status, 400);
  const saved = await agent.request(`${hub.url}/account/notifications/browser`, {
    method: 'POST',
    body: new URLSearchParams({ subscription }),
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-csrf-token': csrf, accept: 'application/json' },
  });
  t.is(saved.status, 201);
  const { subscription: row, location } = (await saved.json()) as { subscription: { id: string; device_id: string | null; label: string }; location: string };
  t.is(row.device_id, null);
  t.is(row.label, 'Chrome on macOS');
  t.is(location, '/account/notifications?notice=saved');
  const [audited] = await auditEntriesOf(hub.db, ada.id, 'push_subscription.created');
  t.like(audited, { actor_id: ada.id, data: { subscription_id: row.id, kind: 'webpush', device_id: null, label: 'Chrome on macOS' } });

  // The sign-ins above are long done: only the grant is pushed.
  await eventually(async () => Number((await hub.db('event_tasks').count('* as n').first())?.n) === 0, 10_000, 'the subscriber tasks');
  await grant(hub, ada.email, 'vezepygame', 'pro');
  const [push] = await eventually(() => (services.of('/push/portal').length ? services.of('/push/portal') : null), 15_000, 'the push');
  t.like(JSON.parse(decryptWebPush(push!.body, keys)), { type: 'entitlement.granted', title: 'Your plans changed' });

  const html = await (await agent.request(`${hub.url}/account/notifications`)).text();
  t.regex(html, new RegExp(`name="devices" value="${row.id}" checked`));
  // Saved without the box ticked: this browser is switched off.
  await agent.postForm(`${hub.url}/account/notifications`, { _csrf: csrf, kinds: 'entitlements' });
  t.false((await hub.db('push_subscriptions').where({ id: row.id }).first()).enabled);
  const removed = await agent.postForm(`${hub.url}/account/notifications/subscriptions/${row.id}/remove`, { _csrf: csrf });
  t.is(removed.status, 303);
  t.is(await hub.db('push_subscriptions').where({ id: row.id }).first(), undefined);
  const [gone] = await auditEntriesOf(hub.db, ada.id, 'push_subscription.removed');
  t.like(gone, { actor_id: ada.id, data: { reason: 'unsubscribed' } });
});

test('in Chromium: the page registers the service worker /push-sw.js; the button asks for permission and says so when the push service is out of reach; the page is accessible', async (t) => {
  const hub = await startTestHub(t);
  const ada = await makePerson(hub, { name: 'Ada' });
  const { context, page } = await newPage(t);
  page.setDefaultTimeout(60_000);
  await signInInBrowser(page, hub.url, ada.email, ada.password);
  await page.goto(`${hub.url}/account/notifications`);

  const worker = await page.evaluate(async () => {
    const registration = await navigator.serviceWorker.ready;
    return { script: registration.active?.scriptURL, scope: registration.scope, pushManager: 'pushManager' in registration };
  });
  t.deepEqual(worker, { script: `${hub.url}/push-sw.js`, scope: `${hub.url}/`, pushManager: true });
  const script = await fetch(`${hub.url}/push-sw.js`);
  t.regex(script.headers.get('content-type') ?? '', /javascript/);
  t.regex(await script.text(), /showNotification/);

  await context.grantPermissions(['notifications'], { origin: hub.url });
  await page.getByRole('button', { name: 'Turn on notifications for this browser' }).click();
  // Headless Chromium has no push service to subscribe with (Google's, out of reach here): the page says it failed.
  const error = page.locator('[data-push-error]');
  await error.waitFor({ state: 'visible' });
  t.is(await error.textContent(), 'Notifications could not be turned on. Try again.');
  t.is(await hub.db('push_subscriptions').count('* as n').first().then((r) => Number(r?.n)), 0);
  await assertAccessible(t, page, 'notifications page');
});
