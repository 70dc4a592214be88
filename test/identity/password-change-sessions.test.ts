import test, { type ExecutionContext } from 'ava';
import * as oidc from 'openid-client';
import type { BrowserContext } from 'playwright-core';
import type { Hub } from '../../src/app/start.ts';
import { newPage, signInInBrowser } from '../helpers/browser.ts';
import { callbackUrl, makeClient, makePerson, makeService, relyingParty } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { serviceSession, userAgents } from '../portal/portal-helpers.ts';

const newPassword = 'a much longer new passphrase';

/**
 * A first-party service signs in through this browser's session (its cookies, no pages to click:
 * the session exists and a first-party service needs no consent), with a refresh token.
 */
async function signInToServiceIn(context: BrowserContext, hub: Hub) {
  await makeService(hub, 'vezepyweb', { firstParty: true });
  const rp = await relyingParty(hub, await makeClient(hub, { service: 'vezepyweb' }));
  const verifier = oidc.randomPKCECodeVerifier();
  let url = oidc.buildAuthorizationUrl(rp, {
    redirect_uri: callbackUrl,
    scope: 'openid email offline_access',
    prompt: 'consent',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  }).href;
  for (let hops = 0; !url.startsWith(callbackUrl); hops++) {
    const response = await context.request.get(url, { maxRedirects: 0 });
    const location = response.headers().location;
    if (!location || hops > 10) throw new Error(`the authorization stopped at ${url} (${response.status()})`);
    url = new URL(location, url).href;
  }
  return { rp, tokens: await oidc.authorizationCodeGrant(rp, new URL(url), { pkceCodeVerifier: verifier }) };
}

const refused = async (t: ExecutionContext, refresh: Promise<unknown>, what: string) => {
  const error = await t.throwsAsync(refresh, undefined, what);
  t.is((error as oidc.ResponseBodyError).error, 'invalid_grant', what);
};

test.serial('changing the password signs out every other session and its services, keeps this browser, and says so', async (t) => {
  const hub = await startTestHub(t);
  const person = await makePerson(hub);
  await makeService(hub, 'vezepygame');
  const sessionUids = async () => (await hub.db('oidc_models').where({ model: 'Session', account_id: person.id }).select('uid')).map((r) => r.uid as string);
  const liveSessionUids = async () =>
    (await hub.db('oidc_models').where({ model: 'Session', account_id: person.id }).andWhere('expires_at', '>', new Date()).select('uid')).map((r) => r.uid as string);

  // Browser A (makes the change) with a service signed in there, browser B, a console signed in to a game.
  const a = await newPage(t);
  await signInInBrowser(a.page, hub.url, person.email, person.password);
  const [aUid] = await sessionUids();
  const here = await signInToServiceIn(a.context, hub);
  t.truthy(here.tokens.refresh_token);
  const b = await newPage(t);
  await signInInBrowser(b.page, hub.url, person.email, person.password);
  await b.page.goto(`${hub.url}/account/security`);
  const console = await serviceSession(hub, person, 'vezepygame', userAgents.playStation);
  // A phone whose browser session has since timed out: its refresh token (offline_access) lives on.
  const before = await sessionUids();
  const phone = await serviceSession(hub, person, 'vezepygame', userAgents.iPhone);
  const phoneUid = (await sessionUids()).find((uid) => !before.includes(uid))!;
  await hub.db('oidc_models').where({ model: 'Session', uid: phoneUid }).update({ expires_at: new Date(Date.now() - 1000) });
  const phoneRefresh = (await oidc.refreshTokenGrant(phone.rp, phone.tokens.refresh_token!)).refresh_token!;
  t.truthy(phoneRefresh, 'the phone still refreshes before the change');
  const consoleRefresh = (await oidc.refreshTokenGrant(console.rp, console.tokens.refresh_token!)).refresh_token!;

  await a.page.goto(`${hub.url}/account/security`);
  await a.page.getByLabel('Current password').fill(person.password);
  await a.page.getByLabel('New password').fill(newPassword);
  await a.page.getByRole('button', { name: 'Change password' }).click();
  await a.page.waitForURL(/notice=password-changed/);
  t.is(
    (await a.page.getByRole('status').filter({ hasText: 'password is changed' }).textContent())?.trim(),
    'Your password is changed, and you are signed out everywhere else: your 2 other sessions were signed out.',
  );

  // B must sign in again; A stays signed in.
  await b.page.reload();
  t.regex(b.page.url(), /\/interaction\//);
  t.is(await b.page.getByLabel('Password', { exact: true }).count(), 1);
  await a.page.goto(`${hub.url}/account`);
  t.is(a.page.url(), `${hub.url}/account`);

  // The other sessions' services are signed out too, the timed-out one included; A's service is not.
  await refused(t, oidc.refreshTokenGrant(console.rp, consoleRefresh), 'the console');
  await refused(t, oidc.refreshTokenGrant(phone.rp, phoneRefresh), 'the phone');
  const kept = await oidc.refreshTokenGrant(here.rp, here.tokens.refresh_token!);
  t.truthy(kept.access_token, 'the service signed in on this browser keeps working');

  // One session.revoked event per ended session, and the audit entries, with the change.
  const events = await hub.db('outbox').where({ user_id: person.id, type: 'session.revoked' });
  t.is(events.length, 2);
  t.true(events.every((e) => e.data.reason === 'password_changed'));
  t.false(events.some((e) => e.data.session_id === phoneUid));
  const audit = await hub.db('audit_log').where({ action: 'password.changed', subject_id: person.id }).first();
  t.like(audit.data, { sessions_ended: 2, grants_revoked: 1, app_passwords_revoked: 0 });
  t.truthy(await hub.db('audit_log').where({ action: 'session.revoked', subject_id: person.id }).whereRaw("data->>'reason' = 'password_changed'").first());
  t.deepEqual(await liveSessionUids(), [aUid]);
});

test.serial('with no other session, the message says so; app passwords revoked are counted', async (t) => {
  const hub = await startTestHub(t);
  const person = await makePerson(hub);
  const { page } = await newPage(t);
  await signInInBrowser(page, hub.url, person.email, person.password);
  await page.goto(`${hub.url}/account/devices`);
  for (const device of ['Phone', 'Console']) {
    await page.getByLabel('Device name').fill(device);
    await page.getByRole('button', { name: 'Create app password' }).click();
    await page.locator('#new-app-password').waitFor();
  }
  await page.goto(`${hub.url}/account/security`);
  await page.getByLabel('Current password').fill(person.password);
  await page.getByLabel('New password').fill(newPassword);
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.waitForURL(/notice=password-changed/);
  t.is(
    (await page.getByRole('status').filter({ hasText: 'password is changed' }).textContent())?.trim(),
    'Your password is changed. You were not signed in anywhere else. Your 2 app passwords were revoked: create new ones for your devices.',
  );
  t.is(await hub.db('outbox').where({ user_id: person.id, type: 'session.revoked' }).first(), undefined);
  // Counts in the address are numbers or nothing: anything else is not shown.
  await page.goto(`${hub.url}/account/security?notice=password-changed&sessions=%3Cb%3E&app_passwords=-1`);
  t.is((await page.getByRole('status').filter({ hasText: 'password is changed' }).textContent())?.trim(), 'Your password is changed. You were not signed in anywhere else.');
});
