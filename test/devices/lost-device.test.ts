import test from 'ava';
import * as oidc from 'openid-client';
import type { Page } from 'playwright-core';
import type { Hub } from '../../src/app/start.ts';
import { newPage, signInInBrowser } from '../helpers/browser.ts';
import { makeClient, makePerson, makeService, relyingParty, type Person } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { basic, signedInTokens } from '../helpers/oidc.ts';
import { assertAccessible } from '../portal/portal-helpers.ts';
import { api, eventsSettled, eventually, hubAudience, SseClient, WsClient } from '../events/helpers.ts';

/** A device app signed in by code + PKCE with the hub's resource and a refresh token, as a phone app is. */
async function deviceApp(hub: Hub, person: Person, service: string) {
  const client = await makeClient(hub, { service, type: 'native' });
  const rp = await relyingParty(hub, client);
  const tokens = await signedInTokens({ hub, rp, person }, { resource: hubAudience(hub), scope: 'openid hub offline_access' });
  if (!tokens.refresh_token) throw new Error('no refresh token');
  return { rp, accessToken: tokens.access_token, refreshToken: tokens.refresh_token };
}

function verifyAppPassword(hub: Hub, client: { client_id: string; client_secret?: string }, username: string, password: string) {
  return fetch(`${hub.url}/api/v1/app-passwords/verify`, {
    method: 'POST',
    headers: { authorization: basic(client), 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
}

async function appPasswordFor(page: Page, hubUrl: string, deviceLabel: string): Promise<string> {
  await page.goto(`${hubUrl}/account/devices`);
  await page.getByLabel('Device name').fill('Mail on my phone');
  await page.getByLabel('Device type').selectOption('phone');
  await page.getByLabel('Service').selectOption({ label: 'VEZEPYEMAIL' });
  await page.getByLabel('For which of your devices').selectOption({ label: deviceLabel });
  await page.getByRole('button', { name: 'Create app password' }).click();
  return (await page.locator('#new-app-password').textContent())!.trim();
}

test.serial('lost device: removed from another browser, its refresh token, live WebSocket, access token and app password all stop', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepyweb', { firstParty: true });
  await makeService(hub, 'vezepyemail');
  const mail = await makeClient(hub, { service: 'vezepyemail' });
  const person = await makePerson(hub);

  // The phone: its app signs in and registers itself with its own token.
  const phone = await deviceApp(hub, person, 'vezepyweb');
  const registered = await api(hub, '/hub/devices', phone.accessToken, { method: 'POST', body: JSON.stringify({ kind: 'phone', name: "Ada's phone", os: 'Android 15', app_version: '3.1.0' }) });
  t.is(registered.status, 201);
  const row = await hub.db('devices').where({ id: registered.body.id }).first();
  t.truthy(row.grant_id, 'tied to the grant that registered it');
  t.truthy(await hub.db('oidc_models').where({ model: 'RefreshToken', grant_id: row.grant_id }).first(), 'the grant holds the refresh token');
  t.truthy(row.session_uid, 'and to the session behind it');
  // Another app of the same person, on another device: it must keep working.
  const laptop = await deviceApp(hub, person, 'vezepyweb');
  t.is((await api(hub, '/hub/devices', laptop.accessToken, { method: 'POST', body: JSON.stringify({ kind: 'desktop', name: 'Laptop', os: 'Debian 13', app_version: '3.1.0' }) })).status, 201);

  // This browser: the portal lists the phone and makes a mail app password for it.
  const { page } = await newPage(t);
  page.setDefaultTimeout(60_000);
  await signInInBrowser(page, hub.url, person.email, person.password);
  const password = await appPasswordFor(page, hub.url, "Ada's phone (phone)");
  t.is((await verifyAppPassword(hub, mail, person.email, password)).status, 200);
  await page.goto(`${hub.url}/account/devices`);
  const card = page.locator(`#device-${row.id}`);
  const text = (await card.textContent())!.replace(/\s+/g, ' ');
  t.regex(text, /Ada's phone phone/);
  t.regex(text, /Android 15 · app 3\.1\.0 · last seen \w{3} \d{1,2}, \d{4}, \d{1,2}:\d\d [AP]M UTC/);
  t.regex(text, /Services: VEZEPYEMAIL, VEZEPYWEB/);
  t.regex(text, /App passwords: Mail on my phone \(VEZEPYEMAIL\)/);
  t.regex(text, /Signed in through /);
  await assertAccessible(t, page, 'the Devices page with a device');

  // What the phone holds works before: a refresh, a live WebSocket, its API.
  const refreshed = await oidc.refreshTokenGrant(phone.rp, phone.refreshToken, { resource: hubAudience(hub) });
  const accessToken = refreshed.access_token;
  const refreshToken = refreshed.refresh_token!;
  await eventsSettled(hub);
  const ws = await WsClient.open(`${hub.url}/hub/events`, { authorization: `Bearer ${accessToken}` });
  t.teardown(() => ws.close());
  const wsClosed = new Promise<number>((resolve) => ws.socket.once('close', (code) => resolve(code)));
  await eventually(() => ws.messages.find((m) => m.type === 'ready'), 10_000, 'the WebSocket to be ready');
  t.is((await api(hub, '/hub/services', accessToken)).status, 200);

  // Removed from this browser: asked once, then gone from the list in place.
  await card.getByRole('button', { name: /^Remove this device/ }).click();
  const dialog = page.getByRole('dialog');
  t.regex((await dialog.textContent()) ?? '', /Remove Ada's phone\?/);
  await dialog.getByRole('button', { name: 'Remove this device' }).click();
  await page.locator('#notifications').getByText(/Device removed\. Its app is signed out/).waitFor();
  t.is(await page.locator(`#device-${row.id}`).count(), 0);
  t.is(await page.locator('#devices .list-item').count(), 1, 'the laptop stays');

  // Everything the phone could do stops.
  t.is(await wsClosed, 1008, 'the live connection is closed as revoked');
  t.true(ws.messages.some((m) => m.type === 'revoked'));
  const api401 = await api(hub, '/hub/services', accessToken);
  t.is(api401.status, 401, 'its next call gets 401');
  t.regex(api401.headers.get('www-authenticate') ?? '', /invalid_token/);
  const refreshError = await t.throwsAsync(oidc.refreshTokenGrant(phone.rp, refreshToken, { resource: hubAudience(hub) }));
  t.is((refreshError as oidc.ResponseBodyError).error, 'invalid_grant', 'its refresh token is gone');
  t.is((await verifyAppPassword(hub, mail, person.email, password)).status, 401, 'its app password is revoked');
  const reconnect = await t.throwsAsync(WsClient.open(`${hub.url}/hub/events`, { authorization: `Bearer ${accessToken}` }));
  t.is((reconnect as Error & { status?: number }).status, 401);

  // The other device and this browser go on.
  t.is((await api(hub, '/hub/services', laptop.accessToken)).status, 200);
  await page.goto(`${hub.url}/account/devices`);
  t.regex((await page.locator('#devices').textContent())!, /Laptop/);

  // Told and recorded once, in the same transaction as the change.
  const event = await hub.db('outbox').where({ type: 'device.revoked', user_id: person.id }).first();
  t.like(event.data, { device_id: row.id, kind: 'phone', name: "Ada's phone", grant_revoked: true, app_passwords_revoked: 1 });
  const audit = await hub.db('audit_log').where({ action: 'device.revoked', subject_id: person.id }).first();
  t.is(audit.actor_id, person.id);
  t.truthy(await hub.db('audit_log').where({ action: 'app_password.revoked', subject_id: person.id }).first());
  t.is((await hub.db('devices').where({ id: row.id }).first()).revoked_at instanceof Date, true);
});

test.serial('last seen moves with the device\'s token use, at most once a minute', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepyweb', { firstParty: true });
  const person = await makePerson(hub);
  const watch = await deviceApp(hub, person, 'vezepyweb');
  const { body } = await api(hub, '/hub/devices', watch.accessToken, { method: 'POST', body: JSON.stringify({ kind: 'watch', os: 'Wear OS 5', app_version: '1.0' }) });
  const lastSeen = async () => new Date((await hub.db('devices').where({ id: body.id }).first()).last_seen_at).getTime();
  const setLastSeen = (msAgo: number) => hub.db('devices').where({ id: body.id }).update({ last_seen_at: new Date(Date.now() - msAgo) });

  await setLastSeen(5 * 60_000);
  t.is((await api(hub, '/hub/entitlements', watch.accessToken)).status, 200);
  t.true(Date.now() - (await lastSeen()) < 10_000, 'a call after five quiet minutes moves it to now');

  await setLastSeen(30_000);
  const before = await lastSeen();
  t.is((await api(hub, '/hub/entitlements', watch.accessToken)).status, 200);
  t.is(await lastSeen(), before, 'within the minute it stays');

  // Opening its live stream is a use too (another device: this one was just seen).
  const screen = await deviceApp(hub, person, 'vezepyweb');
  const registered = await api(hub, '/hub/devices', screen.accessToken, { method: 'POST', body: JSON.stringify({ kind: 'iot', os: 'Linux', app_version: '1.0' }) });
  await hub.db('devices').where({ id: registered.body.id }).update({ last_seen_at: new Date(Date.now() - 3 * 60_000) });
  const stream = await SseClient.open(`${hub.url}/hub/events`, { authorization: `Bearer ${screen.accessToken}` });
  t.is(stream.status, 200);
  await stream.close();
  const screenSeen = new Date((await hub.db('devices').where({ id: registered.body.id }).first()).last_seen_at).getTime();
  t.true(Date.now() - screenSeen < 10_000, 'a stream opened after three quiet minutes moves it to now');

  // A refresh at /token is a use of the device's token too (another hub instance may serve it: the database keeps the rule).
  await setLastSeen(2 * 60_000);
  await oidc.refreshTokenGrant(watch.rp, watch.refreshToken, { resource: hubAudience(hub) });
  await eventually(async () => Date.now() - (await lastSeen()) < 10_000, 10_000, 'the refresh to move last seen');
  t.pass();
});

test.serial('one grant is one device; a device app can remove itself; an app password for someone else\'s device is a form error', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepyweb', { firstParty: true });
  const person = await makePerson(hub);
  const stranger = await makePerson(hub);
  const tv = await deviceApp(hub, person, 'vezepyweb');
  const first = await api(hub, '/hub/devices', tv.accessToken, { method: 'POST', body: JSON.stringify({ kind: 'tv', os: 'tvOS 18', app_version: '1.0' }) });
  const again = await api(hub, '/hub/devices', tv.accessToken, { method: 'POST', body: JSON.stringify({ kind: 'tv', os: 'tvOS 18.1', app_version: '1.1' }) });
  t.is(again.status, 200, 'the same grant refreshes its device');
  t.is(again.body.id, first.body.id);
  t.is(again.body.os, 'tvOS 18.1');

  const strangersTv = await deviceApp(hub, stranger, 'vezepyweb');
  const theirs = await api(hub, '/hub/devices', strangersTv.accessToken, { method: 'POST', body: JSON.stringify({ kind: 'tv', os: 'webOS', app_version: '1.0' }) });
  const { page } = await newPage(t);
  page.setDefaultTimeout(60_000);
  await signInInBrowser(page, hub.url, person.email, person.password);
  await page.goto(`${hub.url}/account/devices`);
  const csrf = await page.locator('input[name="_csrf"]').first().inputValue();
  const forged = await page.request.post(`${hub.url}/account/devices/app-passwords`, {
    form: { _csrf: csrf, deviceName: 'x', deviceType: 'tv', service: 'all', device: theirs.body.id },
  });
  t.is(forged.status(), 400);
  t.regex(await forged.text(), /Choose one of your devices from the list/);
  t.is(await hub.db('app_passwords').where({ user_id: person.id }).count<[{ count: string }]>('* as count').first().then((r) => Number(r!.count)), 0);

  // Removing itself through the API signs the app out (its grant ends), like a sign-out.
  t.is((await api(hub, `/hub/devices/${first.body.id}`, tv.accessToken, { method: 'DELETE' })).status, 204);
  t.is((await api(hub, '/hub/devices', tv.accessToken)).status, 401);
  t.is((await api(hub, '/hub/devices', strangersTv.accessToken)).status, 200, 'nobody else is touched');
});
