import test from 'ava';
import * as oidc from 'openid-client';
import { newPage } from '../helpers/browser.ts';
import { callbackUrl, makeClient, makeService, relyingParty } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { startMailCatcher } from '../helpers/mail-catcher.ts';

test('a person signs up inside a service\'s authorization request and lands back at its callback, signed in', async (t) => {
  const mail = await startMailCatcher(t);
  const hub = await startTestHub(t, { env: { SMTP_URL: mail.url } });
  await makeService(hub, 'vezepyweb', { firstParty: true });
  const client = await makeClient(hub, { service: 'vezepyweb' });
  const rp = await relyingParty(hub, client);
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(rp, {
    redirect_uri: callbackUrl,
    scope: 'openid email profile',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  });

  const { page } = await newPage(t);
  // The client's callback is not a server here: answer it in the browser and keep the URL.
  await page.route(`${callbackUrl}**`, (route) => route.fulfill({ status: 200, contentType: 'text/plain', body: 'callback' }));
  await page.goto(url.href);
  await page.getByRole('link', { name: 'Create account' }).click();
  await page.getByLabel('Name').fill('Katherine Johnson');
  await page.getByLabel('Email').fill('katherine@example.test');
  // Pasting is allowed: fill() is what a paste from a password manager does to the field.
  await page.getByLabel('Password').fill('orbital mechanics at langley');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL(`${callbackUrl}**`);

  const callback = new URL(page.url());
  t.truthy(callback.searchParams.get('code'));
  const tokens = await oidc.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier, expectedState: state });
  const claims = tokens.claims()!;
  const info = await oidc.fetchUserInfo(rp, tokens.access_token, claims.sub);
  t.like(info, { email: 'katherine@example.test', name: 'Katherine Johnson', email_verified: false });

  const verification = await mail.waitFor('katherine@example.test', /confirm your email/);
  t.regex(verification.text, /\b\d{6}\b/);
  const audit = await hub.db('audit_log').where({ action: 'user.signup', subject_id: claims.sub }).first();
  t.truthy(audit);
  const event = await hub.db('outbox').where({ type: 'user.signup', user_id: claims.sub }).first();
  t.truthy(event);
});

test('sign-up refuses a too-common password, a short one and a bad email on the form, with 4xx', async (t) => {
  const hub = await startTestHub(t);
  const { page } = await newPage(t);
  await page.goto(`${hub.url}/signup`);
  t.regex(page.url(), /\/interaction\/[\w-]+\/signup$/);
  await page.getByLabel('Name').fill('Eve');
  await page.getByLabel('Email').fill('eve@example.test');
  await page.getByLabel('Password').fill('Password123');
  const response = page.waitForResponse((r) => r.request().method() === 'POST' && !r.url().endsWith('/account/time-zone'));
  await page.getByRole('button', { name: 'Create account' }).click();
  t.is((await response).status(), 400);
  await t.notThrowsAsync(page.getByText(/too common/).waitFor());
  t.is(await page.getByLabel('Email').inputValue(), 'eve@example.test');

  await page.getByLabel('Password').fill('short');
  await page.getByLabel('Email').fill('not-an-email');
  await page.getByRole('button', { name: 'Create account' }).click();
  await t.notThrowsAsync(page.getByText(/at least 8 characters/).first().waitFor());
  await t.notThrowsAsync(page.getByText(/valid email/).waitFor());
  t.is(await hub.db('users').where({ name: 'Eve' }).first(), undefined);
});

test('/signup on its own ends on the account page, signed in; the sign-in page links to it', async (t) => {
  const hub = await startTestHub(t);
  const { page } = await newPage(t);
  await page.goto(`${hub.url}/account`);
  await page.getByRole('link', { name: 'Create account' }).click();
  await page.getByLabel('Name').fill('Mary Jackson');
  await page.getByLabel('Email').fill('mary@example.test');
  await page.getByLabel('Password').fill('wind tunnel number four');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL(`${hub.url}/account`);
  t.regex(await page.content(), /Mary Jackson|mary@example\.test/);

  const again = await newPage(t);
  await again.page.goto(`${hub.url}/signup`);
  await again.page.getByLabel('Name').fill('Someone');
  await again.page.getByLabel('Email').fill('MARY@example.test');
  await again.page.getByLabel('Password').fill('another long passphrase');
  const response = again.page.waitForResponse((r) => r.request().method() === 'POST' && !r.url().endsWith('/account/time-zone'));
  await again.page.getByRole('button', { name: 'Create account' }).click();
  t.is((await response).status(), 409);
  await t.notThrowsAsync(again.page.getByText(/already exists/).first().waitFor());
});
