import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import test, { type ExecutionContext } from 'ava';
import * as oidc from 'openid-client';
import type { Page } from 'playwright-core';
import type { Hub } from '../../src/app/start.ts';
import { newPage, signInInBrowser } from '../helpers/browser.ts';
import { makeClient, makePerson, makeService, relyingParty, type Person } from '../helpers/fixtures.ts';
import { addVirtualAuthenticator, ageSignIn, blockPasskeyAutofill, setUpAuthenticatorApp, startLocalhostHub, totpCode } from './strong-sign-in-helpers.ts';

/**
 * Every way a relying party asks for a fresh or strong sign-in, with every way a person may sign
 * in, through the real sign-in pages. Each request is the person's first at a new client of a
 * first-party service, so a consent step (given silently) follows the sign-in in the same
 * authorization request: the provider must still count the sign-in when it resumes after it.
 */

type Factor = 'password' | 'totp' | 'passkey as second factor' | 'passkey sign-in' | 'recovery code';
type Ask = 'acr_values=urn:uniqverse:mfa' | 'none' | 'prompt=login' | 'max_age=0';

const askParams: Record<Ask, Record<string, string>> = {
  'acr_values=urn:uniqverse:mfa': { acr_values: 'urn:uniqverse:mfa' },
  none: {},
  'prompt=login': { prompt: 'login' },
  'max_age=0': { max_age: '0' },
};

const mfa = 'urn:uniqverse:mfa';
const pwd = 'urn:uniqverse:pwd';
/** What the ID token says after a full sign-in with each factor. */
const signedInWith: Record<Factor, { amr: string[]; acr: string }> = {
  password: { amr: ['pwd'], acr: pwd },
  totp: { amr: ['mfa', 'otp', 'pwd'], acr: mfa },
  'passkey as second factor': { amr: ['hwk', 'mfa', 'pwd'], acr: mfa },
  'passkey sign-in': { amr: ['hwk', 'mfa', 'user'], acr: mfa },
  'recovery code': { amr: ['mfa', 'otp', 'pwd'], acr: mfa },
};

/**
 * The relying party's callback: a server of the test's own, which tells where the browser landed.
 * (A route on an unresolvable name is not caught when the whole flow is one chain of redirects.)
 */
async function relyingPartyCallback(t: ExecutionContext, landed: (url: URL) => void): Promise<string> {
  const server = createServer((request, response) => {
    landed(new URL(request.url!, 'http://127.0.0.1'));
    response.writeHead(200, { 'content-type': 'text/plain', connection: 'close' }).end('callback');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`;
}

interface Setup {
  hub: Hub;
  person: Person;
  page: Page;
  totpSecret?: string;
  recoveryCodes: string[];
  rpCallback: string;
  /** The client's callback, when the browser reached it (the browser never leaves for it: the test answers). */
  landed?: URL;
}

async function setUp(t: ExecutionContext, factor: Factor): Promise<Setup> {
  const hub = await startLocalhostHub(t);
  await makeService(hub, 'vezepyweb', { firstParty: true });
  const person = await makePerson(hub);
  const { page } = await newPage(t);
  // Autofill would sign in with the passkey before the test chooses how to sign in.
  await blockPasskeyAutofill(page);
  if (factor.startsWith('passkey')) await addVirtualAuthenticator(page);
  await signInInBrowser(page, hub.url, person.email, person.password);
  const setup: Setup = { hub, person, page, recoveryCodes: [], rpCallback: await relyingPartyCallback(t, (url) => (setup.landed = url)) };
  if (factor === 'totp' || factor === 'recovery code') setup.totpSecret = await setUpAuthenticatorApp(page, hub.url);
  if (factor === 'recovery code') {
    await page.goto(`${hub.url}/account/security`);
    await page.getByRole('button', { name: 'Generate recovery codes' }).click();
    await page.locator('#recovery-code-list').waitFor();
    setup.recoveryCodes = ((await page.locator('#recovery-code-list').textContent()) ?? '').split('\n').map((line) => line.trim()).filter(Boolean);
  }
  if (factor.startsWith('passkey')) {
    await page.goto(`${hub.url}/account/security`);
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    await page.waitForURL(/notice=passkey-added/);
  }
  return setup;
}

async function waitFor(condition: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Each code works once, and this test signs in more often than the app shows a new one: as if the last code were a minute old. */
const forgetUsedTotpCode = (s: Setup) => s.hub.db('totp_factors').where({ user_id: s.person.id }).update({ last_time_step: null });

/** The person signs in on the sign-in page the browser is showing, with their factor. */
async function signInOnPage(s: Setup, factor: Factor): Promise<void> {
  const { page, person } = s;
  if (factor === 'passkey sign-in') {
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    return;
  }
  await page.getByLabel('Password', { exact: true }).fill(person.password);
  if (factor === 'password') return page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await Promise.all([page.waitForURL(/\/second-factor$/), page.getByRole('button', { name: 'Sign in', exact: true }).click()]);
  if (factor === 'totp') {
    await forgetUsedTotpCode(s);
    await page.getByLabel('Code').fill(await totpCode(s.totpSecret!));
    await page.getByRole('button', { name: 'Verify' }).click();
  } else if (factor === 'passkey as second factor') {
    await page.getByRole('button', { name: 'Use a passkey' }).click();
  } else if (factor === 'recovery code') {
    await page.getByRole('link', { name: 'Use a recovery code' }).click();
    await page.getByLabel('Recovery code').fill(s.recoveryCodes.shift()!);
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('link', { name: 'Continue' }).click();
  }
}

/**
 * One authorization request at a new client: signs in on the sign-in page whenever it is shown
 * (at most 3 times, so a loop ends the test), and returns the ID token's claims and how many
 * times the sign-in page was shown.
 */
async function authorize(s: Setup, factor: Factor, ask: Ask) {
  const { hub, page } = s;
  const client = await makeClient(hub, { service: 'vezepyweb', redirectUris: [s.rpCallback] });
  const rp = await relyingParty(hub, client);
  const verifier = oidc.randomPKCECodeVerifier();
  const url = oidc.buildAuthorizationUrl(rp, {
    redirect_uri: s.rpCallback,
    scope: 'openid email',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...askParams[ask],
  });
  s.landed = undefined;
  let signInPages = 0;
  await page.goto(url.href);
  for (;;) {
    const uid = /\/interaction\/([\w-]+)$/.exec(new URL(page.url()).pathname)?.[1];
    if (s.landed || !uid || signInPages >= 3) break;
    await page.getByLabel('Email').waitFor();
    signInPages++;
    await signInOnPage(s, factor);
    // Until the browser is at the client, or at a sign-in page of another interaction.
    await waitFor(async () => s.landed !== undefined || (!page.url().includes(uid) && /\/interaction\/[\w-]+$/.test(new URL(page.url()).pathname)));
    await page.waitForLoadState('load');
  }
  // Set by the callback server while the browser went through the pages.
  const landed = s.landed as URL | undefined;
  if (!landed) return { signInPages, claims: undefined };
  // The server has answered; the browser may not have shown the answer yet. Until it has, the
  // next page.goto would be cut short by this navigation (seen in loaded runs).
  await page.waitForURL((url) => url.href.startsWith(s.rpCallback));
  const tokens = await oidc.authorizationCodeGrant(rp, new URL(`${landed.pathname}${landed.search}`, s.rpCallback), { pkceCodeVerifier: verifier });
  return { signInPages, claims: tokens.claims()! };
}

/** In this order: a step-up from the password sign-in of setUp, nothing more asked, then two forced fresh sign-ins. */
const asks: Ask[] = ['acr_values=urn:uniqverse:mfa', 'none', 'prompt=login', 'max_age=0'];

for (const factor of Object.keys(signedInWith) as Factor[]) {
  test.serial(`${factor}: prompt=login, max_age=0 and acr_values=mfa end at the client after one sign-in, and the ID token says how and when`, async (t) => {
    const s = await setUp(t, factor);
    // setUp signed in with the password alone.
    let session = { amr: ['pwd'], acr: pwd };
    for (const ask of asks) {
      // The session's sign-in is two minutes old: a fresh one shows in auth_time.
      await ageSignIn(s.hub, s.person.id, 120);
      const start = Math.floor(Date.now() / 1000);
      const fresh = ask === 'prompt=login' || ask === 'max_age=0' || (ask === 'acr_values=urn:uniqverse:mfa' && session.acr !== mfa && factor !== 'password');
      const { signInPages, claims } = await authorize(s, factor, ask);
      t.is(signInPages, fresh ? 1 : 0, `${ask}: sign-in pages shown`);
      if (!claims) return t.fail(`${ask}: never reached the client`);
      if (fresh) session = signedInWith[factor];
      t.is(claims.sub, s.person.id, ask);
      t.deepEqual([...((claims.amr as string[] | undefined) ?? [])].sort(), session.amr, `${ask}: amr`);
      t.is(claims.acr, session.acr, `${ask}: acr`);
      if (fresh) t.true(Number(claims.auth_time) >= start, `${ask}: auth_time is the new sign-in`);
      else t.true(Number(claims.auth_time) <= start - 119, `${ask}: auth_time is the earlier sign-in`);
    }
  });
}
