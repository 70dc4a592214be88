import test from 'ava';
import * as oidc from 'openid-client';
import { startTestHub } from '../helpers/hub.ts';
import { newPage, signInInBrowser } from '../helpers/browser.ts';
import { callbackUrl, makeClient, makePerson, makeService, relyingParty } from '../helpers/fixtures.ts';

test('a person signs in to the account portal in Chromium, and the portal greets them', async (t) => {
  const hub = await startTestHub(t);
  const person = await makePerson(hub, { name: 'Katherine Johnson' });
  const { page } = await newPage(t);
  await signInInBrowser(page, hub.url, person.email, person.password);
  t.is(new URL(page.url()).pathname, '/account');
  t.is(await page.getByRole('heading', { level: 1 }).textContent(), 'Welcome, Katherine Johnson');
});

test('a wrong password shows one message for wrong password and unknown email, and no redirect', async (t) => {
  const hub = await startTestHub(t);
  const person = await makePerson(hub);
  const { page } = await newPage(t);
  await signInInBrowser(page, hub.url, person.email, 'not the password');
  t.is(await page.getByRole('alert').textContent(), 'Wrong email or password.');
  await page.getByLabel('Email').fill('nobody@example.test');
  await page.getByLabel('Password', { exact: true }).fill('not the password');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  t.is(await page.getByRole('alert').textContent(), 'Wrong email or password.');
});

test('a third-party service asks for consent with "Allow", then lands on its callback with a code', async (t) => {
  const hub = await startTestHub(t);
  const person = await makePerson(hub);
  await makeService(hub, 'partner');
  const client = await makeClient(hub, { service: 'partner' });
  const rp = await relyingParty(hub, client);
  const verifier = oidc.randomPKCECodeVerifier();
  const url = oidc.buildAuthorizationUrl(rp, {
    redirect_uri: callbackUrl,
    scope: 'openid email',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  const { page } = await newPage(t);
  // The callback host does not exist: catch the navigation to it instead of loading it.
  let landed = '';
  await page.route(`${callbackUrl}**`, (route) => {
    landed = route.request().url();
    return route.fulfill({ status: 200, body: 'ok' });
  });
  await signInInBrowser(page, hub.url, person.email, person.password, url.href);
  await page.getByRole('button', { name: 'Allow' }).click();
  await page.waitForURL(`${callbackUrl}**`);
  t.regex(landed, /[?&]code=/);
});
