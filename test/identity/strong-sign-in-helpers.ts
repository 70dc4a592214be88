import type { ExecutionContext } from 'ava';
import { generate } from 'otplib';
import * as oidc from 'openid-client';
import type { CDPSession, Page } from 'playwright-core';
import type { Hub } from '../../src/app/start.ts';
import { makeClient, makeService, relyingParty } from '../helpers/fixtures.ts';
import { startTestHub, type TestHubOptions } from '../helpers/hub.ts';
import { freePort } from '../helpers/processes.ts';


/**
 * A test hub whose issuer is http://localhost:<port>. Browsers refuse WebAuthn on an IP address
 * ("This is an invalid domain"), and the RP ID is the issuer's host name, so passkey tests need
 * a host name; localhost is a secure context over plain http.
 */
export async function startLocalhostHub(t: ExecutionContext, options: TestHubOptions = {}): Promise<Hub> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    try {
      return await startTestHub(t, { ...options, env: { ...options.env, PORT: String(port), ISSUER: `http://localhost:${port}` } });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 3) throw error;
    }
  }
}

export interface VirtualAuthenticator {
  cdp: CDPSession;
  authenticatorId: string;
}

/** The DevTools virtual authenticator: a platform passkey provider with user verification, by default. */
export async function addVirtualAuthenticator(page: Page, options: { isUserVerified?: boolean; hasUserVerification?: boolean } = {}): Promise<VirtualAuthenticator> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: options.hasUserVerification ?? true,
      isUserVerified: options.isUserVerified ?? true,
      automaticPresenceSimulation: true,
    },
  });
  return { cdp, authenticatorId };
}

/**
 * The virtual authenticator answers a conditional (autofill) request at once, as if the person
 * picked the passkey from the Email field's suggestions. Tests of the button turn autofill off.
 */
export async function blockPasskeyAutofill(page: Page): Promise<void> {
  await page.route('**/passkey/options?mediation=conditional', (route) => route.abort());
}

export async function credentialsOf(authenticator: VirtualAuthenticator) {
  const { credentials } = await authenticator.cdp.send('WebAuthn.getCredentials', { authenticatorId: authenticator.authenticatorId });
  return credentials;
}

/** A TOTP code for now, or `steps` time steps from now. */
export const totpCode = (secret: string, steps = 0) => generate({ secret, epoch: Math.floor(Date.now() / 1000) + steps * 30 });

/** Sets up the authenticator app on /account/security (signed in, recently) and returns its secret. */
export async function setUpAuthenticatorApp(page: Page, hubUrl: string): Promise<string> {
  await page.goto(`${hubUrl}/account/security`);
  await page.getByRole('button', { name: 'Set up authenticator app' }).click();
  const secret = (await page.locator('#totp-secret').textContent())!.trim();
  await page.getByLabel('Code').fill(await totpCode(secret));
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.waitForURL(/notice=totp-on/);
  return secret;
}

/** Forgets the browser's sign-in (every cookie), keeping the page and its virtual authenticator. */
export async function forgetSignIn(page: Page): Promise<void> {
  // The page is left first: a request it still had in flight (an htmx load of the Security page)
  // would come back signed out and send the browser to sign in, then back to itself, wherever the
  // test had gone meanwhile.
  await page.goto('about:blank');
  await page.context().clearCookies();
}

/** Makes the person's sign-ins look `seconds` old, as if they had signed in that long ago. */
export async function ageSignIn(hub: Hub, userId: string, seconds: number): Promise<void> {
  const loginTs = Math.floor(Date.now() / 1000) - seconds;
  await hub.db('oidc_models')
    .where({ model: 'Session', account_id: userId })
    .update({ payload: hub.db.raw("jsonb_set(payload, '{loginTs}', to_jsonb(?::bigint))", [loginTs]) });
  // Written behind the hub's back: a request the browser had in flight may have cached the session
  // again before the commit, and the change notice that drops it comes a moment later. The next
  // page must see the aged sign-in, so forget it now.
  hub.holder.caches.models.clear();
}

/** A callback on a name that never resolves: the browser answers it (Chromium blocks port 9 before routing it). */
const rpCallback = 'https://rp.example.test/callback';

/** Starts an authorization request of a registered client in the page; the callback is caught in the browser. */
export async function startAuthorization(hub: Hub, page: Page, params: Record<string, string> = {}) {
  await makeService(hub, 'vezepyweb', { firstParty: true });
  const client = await makeClient(hub, { service: 'vezepyweb', redirectUris: [rpCallback] });
  const rp = await relyingParty(hub, client);
  const verifier = oidc.randomPKCECodeVerifier();
  const url = oidc.buildAuthorizationUrl(rp, {
    redirect_uri: rpCallback,
    scope: 'openid email',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...params,
  });
  const landed = new Promise<URL>((resolve) => {
    void page.route(`${rpCallback}**`, (route) => {
      resolve(new URL(route.request().url()));
      return route.fulfill({ status: 200, contentType: 'text/plain', body: 'callback' });
    });
  });
  await page.goto(url.href);
  return {
    tokens: async () => {
      const callback = await landed;
      // Until the browser has shown the callback: the route sees its request before the navigation
      // ends, and a test's next page.goto would otherwise be cut short by it.
      await page.waitForURL(`${rpCallback}**`, { waitUntil: 'load' });
      return oidc.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier });
    },
  };
}
