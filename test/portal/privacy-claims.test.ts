import test from 'ava';
import * as oidc from 'openid-client';
import type { Page } from 'playwright-core';

// One at a time: each test runs a hub and a Chromium page, and the machine is small and shared.
import type { Hub } from '../../src/app/start.ts';
import { callbackUrl, makeClient, makeService, relyingParty } from '../helpers/fixtures.ts';
import { signedInTokens } from '../helpers/oidc.ts';
import { signedInBrowser } from './portal-helpers.ts';

type RelyingParty = Awaited<ReturnType<typeof relyingParty>>;

const profileClaims = ['name', 'updated_at', 'locale'];
const emailClaims = ['email', 'email_verified'];

/**
 * Where the service's browser flow returns: a page on the hub's own address (its 404 page), so the
 * navigation ends on a real answer. The fixtures' callback (port 9, not listening) would end in
 * Chromium's error page, committed a moment after the redirect, and interrupt the test's next step.
 */
const browserCallback = (issuer: string) => `${issuer}/service-callback`;

/** A client of the service whose redirect URIs take both the fixtures' callback and the browser's. */
const serviceClient = (hub: Hub, service: string) => makeClient(hub, { service, redirectUris: [callbackUrl, browserCallback(hub.url)] });

/**
 * The service sends the browser to the hub with a new authorization request; the person is
 * signed in already, so the hub answers at the service's callback, whose code the test redeems as
 * the service would. `onConsent` acts on the consent page when the hub shows one.
 */
async function signInToService(page: Page, rp: RelyingParty, options: { scope?: string; prompt?: string | null; onConsent?: (page: Page) => Promise<void> } = {}) {
  const redirectUri = browserCallback(rp.serverMetadata().issuer);
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(rp, {
    redirect_uri: redirectUri,
    scope: options.scope ?? 'openid email profile offline_access',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    // The provider grants offline_access (a refresh token) only when consent is asked for.
    ...(options.prompt === null ? {} : { prompt: options.prompt ?? 'consent' }),
  });
  const redirected = page.waitForResponse((r) => (r.headers().location ?? '').startsWith(redirectUri));
  await page.goto(url.href);
  if (options.onConsent) {
    await page.waitForURL(/\/interaction\//);
    await options.onConsent(page);
  }
  const callback = new URL((await redirected).headers().location!);
  const tokens = await oidc.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier, expectedState: state });
  const claims = tokens.claims()!;
  const userinfo = await oidc.fetchUserInfo(rp, tokens.access_token, claims.sub);
  return { tokens, idToken: claims as Record<string, unknown>, userinfo: userinfo as Record<string, unknown> };
}

/** Flips one of a service's toggles on the privacy page and waits until it is saved (htmx). */
async function setToggle(page: Page, hub: Hub, slug: string, label: 'Your name' | 'Your email address', on: boolean) {
  // The previous sign-in's redirect to the unreachable callback may still end in Chromium's error
  // page, interrupting this navigation: go again once it has.
  await page.goto(`${hub.url}/account/privacy`);
  const toggle = page.locator(`#privacy-${slug}`).getByLabel(label);
  await toggle.setChecked(on);
  await page.getByText(/your choices are saved/).waitFor();
  if ((await page.locator(`#privacy-${slug}`).getByLabel(label).isChecked()) !== on) throw new Error(`${label} did not stay ${on ? 'on' : 'off'}`);
}

const present = (claims: Record<string, unknown>, names: string[]) => names.filter((n) => claims[n] !== undefined);

test.serial('a first-party service stops receiving the email and the name from the next sign-in on, in ID tokens, userinfo and refreshes, until turned back on', async (t) => {
  const { hub, person, page } = await signedInBrowser(t);
  await makeService(hub, 'vezepyweb', { firstParty: true });
  const rp = await relyingParty(hub, await serviceClient(hub, 'vezepyweb'));

  const first = await signInToService(page, rp);
  t.like(first.userinfo, { email: person.email, email_verified: true, name: person.name });
  // conformIdTokenClaims: ID tokens from the code flow carry no scope claims at all (userinfo does);
  // the ID token checks below guard that nothing withheld ever reaches one.
  t.deepEqual(present(first.idToken, emailClaims), []);

  await setToggle(page, hub, 'vezepyweb', 'Your email address', false);
  const noEmail = await signInToService(page, rp);
  t.deepEqual(present(noEmail.idToken, emailClaims), [], 'no email in the ID token');
  t.deepEqual(present(noEmail.userinfo, emailClaims), [], 'no email at userinfo');
  t.is(noEmail.userinfo.name, person.name, 'the name is still shared');
  t.notRegex(noEmail.tokens.scope ?? '', /\bemail\b/);
  const refreshed = await oidc.refreshTokenGrant(rp, noEmail.tokens.refresh_token!);
  t.deepEqual(present(refreshed.claims() as Record<string, unknown>, emailClaims), [], 'no email in the refreshed ID token');
  t.notRegex(refreshed.scope ?? '', /\bemail\b/);
  const refreshedUserinfo = (await oidc.fetchUserInfo(rp, refreshed.access_token, person.id)) as Record<string, unknown>;
  t.is(refreshedUserinfo.name, person.name);
  t.deepEqual(present(refreshedUserinfo, emailClaims), [], 'no email at userinfo with the refreshed access token');
  // Another device: a new session and so a new grant, made without the email.
  const otherDevice = await signedInTokens({ hub, rp, person });
  t.notRegex(otherDevice.scope ?? '', /\bemail\b/);
  t.regex(otherDevice.scope ?? '', /\bprofile\b/);
  t.deepEqual(present((await oidc.fetchUserInfo(rp, otherDevice.access_token, person.id)) as Record<string, unknown>, emailClaims), []);
  // The token from before the change, refreshed: its grant lost the email too.
  const oldRefreshed = await oidc.refreshTokenGrant(rp, first.tokens.refresh_token!);
  t.notRegex(oldRefreshed.scope ?? '', /\bemail\b/);
  t.deepEqual(present(oldRefreshed.claims() as Record<string, unknown>, emailClaims), []);
  t.deepEqual(present(await oidc.fetchUserInfo(rp, oldRefreshed.access_token, person.id) as Record<string, unknown>, emailClaims), []);

  await setToggle(page, hub, 'vezepyweb', 'Your name', false);
  const nothing = await signInToService(page, rp);
  t.deepEqual(present(nothing.idToken, [...emailClaims, ...profileClaims]), []);
  t.deepEqual(present(nothing.userinfo, [...emailClaims, ...profileClaims]), []);
  t.is(nothing.userinfo.sub, person.id);

  await setToggle(page, hub, 'vezepyweb', 'Your name', true);
  await setToggle(page, hub, 'vezepyweb', 'Your email address', true);
  const back = await signInToService(page, rp);
  t.like(back.userinfo, { email: person.email, email_verified: true, name: person.name });
  t.regex(back.tokens.scope ?? '', /\bemail\b/);
  t.like(await oidc.fetchUserInfo(rp, (await oidc.refreshTokenGrant(rp, back.tokens.refresh_token!)).access_token, person.id), { email: person.email, name: person.name });
});

test.serial('a third-party consent page says what is off in the privacy settings and Allow leaves it out; turned back on, it is asked for again', async (t) => {
  const { hub, person, page } = await signedInBrowser(t);
  await makeService(hub, 'vezepychess');
  await hub.db('services').where({ slug: 'vezepychess' }).update({ name: 'VEZEPyChess' });
  const rp = await relyingParty(hub, await serviceClient(hub, 'vezepychess'));
  const allow = async (p: Page) => p.getByRole('button', { name: 'Allow' }).click();

  const first = await signInToService(page, rp, { onConsent: allow });
  t.is(first.userinfo.email, person.email);

  await setToggle(page, hub, 'vezepychess', 'Your email address', false);
  // prompt=consent: the consent page shows again; the email it asks for is listed as off.
  let offered: string[] = [];
  let granted: string[] = [];
  const again = await signInToService(page, rp, {
    onConsent: async (p) => {
      t.regex((await p.locator('main').textContent()) ?? '', /Off in your privacy settings/);
      offered = await p.locator('ul.withheld li').allTextContents();
      granted = await p.locator('ul.checklist:not(.withheld) li').allTextContents();
      await allow(p);
    },
  });
  t.deepEqual(offered, ['Your email address']);
  t.false(granted.some((line) => /email/i.test(line)));
  t.deepEqual(present(again.idToken, emailClaims), []);
  t.deepEqual(present(again.userinfo, emailClaims), []);
  t.is(again.userinfo.name, person.name);

  // Without prompt=consent nothing is missing any more: no consent page, still no email.
  const quiet = await signInToService(page, rp, { prompt: null });
  t.deepEqual(present(quiet.userinfo, emailClaims), []);

  await setToggle(page, hub, 'vezepychess', 'Your email address', true);
  let asked = '';
  const back = await signInToService(page, rp, {
    prompt: null,
    onConsent: async (p) => {
      asked = (await p.locator('main').textContent()) ?? '';
      await allow(p);
    },
  });
  t.regex(asked, /See your email address/, 'turned back on, the email is asked for at the next sign-in');
  t.notRegex(asked, /Off in your privacy settings/);
  t.is(back.userinfo.email, person.email);
});

test.serial('userinfo and tokens follow the choice even when a grant still holds the email (a grant from before the choice)', async (t) => {
  const { hub, person, page } = await signedInBrowser(t);
  const service = await makeService(hub, 'vezepygame', { firstParty: true });
  const rp = await relyingParty(hub, await serviceClient(hub, 'vezepygame'));
  const before = await signInToService(page, rp);
  t.is(before.userinfo.email, person.email);

  // The choice is recorded without touching the grant (as a choice made before grants were pruned).
  await hub.db('service_consents').insert({ user_id: person.id, service_id: service.id, share_profile: false, share_email: false, share_activity: true });
  const userinfo = (await oidc.fetchUserInfo(rp, before.tokens.access_token, person.id)) as Record<string, unknown>;
  t.deepEqual(present(userinfo, [...emailClaims, ...profileClaims]), []);
  t.is(userinfo.sub, person.id);
  const refreshed = await oidc.refreshTokenGrant(rp, before.tokens.refresh_token!);
  t.deepEqual(present(refreshed.claims() as Record<string, unknown>, [...emailClaims, ...profileClaims]), []);

  // Another service's choice does not reach this one.
  const other = await makeService(hub, 'vezepysports', { firstParty: true });
  await hub.db('service_consents').where({ user_id: person.id, service_id: service.id }).delete();
  await hub.db('service_consents').insert({ user_id: person.id, service_id: other.id, share_profile: false, share_email: false, share_activity: true });
  t.like(await oidc.fetchUserInfo(rp, refreshed.access_token, person.id), { email: person.email, name: person.name });
});
