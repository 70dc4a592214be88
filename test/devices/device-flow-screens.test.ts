import test from 'ava';
import QRCode from 'qrcode';
import { deviceCodeGrant } from '../../src/catalog/clients.ts';
import { newPage } from '../helpers/browser.ts';
import { makeClient, makePerson, makeService } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { postForm } from '../helpers/oidc.ts';
import { hubAudience } from '../events/helpers.ts';

async function setup(t: Parameters<typeof startTestHub>[0]) {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepytv', { firstParty: true });
  const person = await makePerson(hub);
  const client = await makeClient(hub, { service: 'vezepytv', type: 'device', name: 'VEZE TV' });
  return { hub, person, client };
}

test('on a phone: the code page and the confirm page fit, and the confirm page says which device asks', async (t) => {
  const { hub, person, client } = await setup(t);
  // The TV starts the grant and says what it is.
  const started = await postForm(`${hub.url}/device/auth`, { client_id: client.client_id, scope: 'openid hub offline_access', resource: hubAudience(hub), device_name: 'Living room TV', device_kind: 'tv' });
  t.is(started.status, 200, started.text);
  const { verification_uri: plain, user_code: userCode, device_code: deviceCode } = started.json as Record<string, string>;

  const { page } = await newPage(t, { width: 375, height: 740 });
  page.setDefaultTimeout(60_000);
  const fits = () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
  // The person types the code the TV shows.
  await page.goto(plain!);
  t.true(await fits(), 'the code page has no sideways scroll at 375 px');
  t.false(await page.locator('#device-qr').isVisible(), 'no QR code on the phone itself');
  await page.getByLabel('Code').fill(userCode!.toLowerCase().replace('-', ''));
  await page.getByRole('button', { name: 'Continue' }).click();

  await page.locator('#asking-device').waitFor();
  const asking = (await page.locator('#asking-device').textContent())!.replace(/\s+/g, ' ').trim();
  t.is(asking, 'Living room TV TV asks to sign in to VEZE TV with your account.');
  t.true((await page.locator('.big-code').textContent())!.includes(userCode!));
  t.true(await fits(), 'the confirm page has no sideways scroll at 375 px');
  await page.getByRole('button', { name: 'Continue' }).click();

  await page.getByLabel('Email').fill(person.email);
  await page.getByLabel('Password', { exact: true }).fill(person.password);
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.getByRole('button', { name: 'Sign in', exact: true }).click()]);
  await page.getByText(/Device connected/).first().waitFor();
  t.true(await fits());

  const tokens = await postForm(`${hub.url}/token`, { grant_type: deviceCodeGrant, device_code: deviceCode!, client_id: client.client_id });
  t.is(tokens.status, 200, tokens.text);
  t.truthy(tokens.json.access_token);
});

test('on a computer: the code page shows a QR code of itself, to go on with a phone', async (t) => {
  const { hub, client } = await setup(t);
  const started = await postForm(`${hub.url}/device/auth`, { client_id: client.client_id, scope: 'openid' });
  const { verification_uri: plain } = started.json as Record<string, string>;
  const { page } = await newPage(t, { width: 1280, height: 900 });
  const svgOf = async () => page.locator('#device-qr .device-qr-code svg').evaluate((svg) => svg.outerHTML);
  const expected = async (url: string) => (await QRCode.toString(url, { type: 'svg', errorCorrectionLevel: 'M', margin: 1 })).trim();

  await page.goto(plain!);
  t.true(await page.locator('#device-qr').isVisible());
  t.is(normalise(await svgOf()), normalise(await expected(plain!)), 'the QR code is of the verification page');
  t.regex((await page.locator('#device-qr').textContent())!, /Scan this with your phone/);
  t.is(await page.locator('#device-qr [role="img"]').getAttribute('aria-label'), `QR image of ${plain}`);
});

/** The browser's serialisation of the same SVG: compare shapes, not quoting. */
const normalise = (svg: string) => svg.replace(/\s+/g, ' ').replace(/"/g, "'").replace(/ ?\/>/g, '>').replace(/<\/path>/g, '').trim();

test('what a device says of itself is checked; one that says nothing is described by its user agent', async (t) => {
  const { hub, client } = await setup(t);
  const badKind = await postForm(`${hub.url}/device/auth`, { client_id: client.client_id, scope: 'openid', device_kind: 'toaster' });
  t.is(badKind.status, 400);
  t.is(badKind.json.error, 'invalid_request');
  t.regex(String(badKind.json.error_description), /device_kind is one of phone/);
  const longName = await postForm(`${hub.url}/device/auth`, { client_id: client.client_id, scope: 'openid', device_name: 'x'.repeat(81) });
  t.is(longName.status, 400);
  t.regex(String(longName.json.error_description), /1 to 80 characters/);

  const console = await postForm(`${hub.url}/device/auth`, { client_id: client.client_id, scope: 'openid' }, { 'user-agent': 'Mozilla/5.0 (PlayStation; PlayStation 5/2.26) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.0 Safari/605.1.15' });
  const { page } = await newPage(t, { width: 375, height: 740 });
  // verification_uri_complete (what the TV's own QR code holds) goes straight to the confirm page.
  await page.goto((console.json as Record<string, string>).verification_uri_complete!);
  await page.locator('#asking-device').waitFor();
  const asking = (await page.locator('#asking-device').textContent())!.replace(/\s+/g, ' ').trim();
  t.regex(asking, /^PlayStation 5 console asks to sign in to VEZE TV/);
});

test('the confirm page and the QR caption speak the browser language: which device asks, in German and Hindi', async (t) => {
  const { hub, client } = await setup(t);
  const started = await postForm(`${hub.url}/device/auth`, { client_id: client.client_id, scope: 'openid', device_name: 'Wohnzimmer', device_kind: 'tv' });
  const { verification_uri: plain, verification_uri_complete: complete } = started.json as Record<string, string>;
  const { page } = await newPage(t, { width: 1280, height: 900 });
  await page.setExtraHTTPHeaders({ 'Accept-Language': 'de-DE,de;q=0.9' });
  await page.goto(plain!);
  t.regex((await page.locator('#device-qr').textContent())!, /Scannen Sie dies mit Ihrem Handy/);
  t.is(await page.locator('#device-qr [role="img"]').getAttribute('aria-label'), `QR-Bild von ${plain}`);
  await page.goto(complete!);
  const asking = (await page.locator('#asking-device').textContent())!.replace(/\s+/g, ' ').trim();
  t.is(asking, 'Wohnzimmer Fernseher möchte sich mit Ihrem Konto bei VEZE TV anmelden.');
  t.is(await page.locator('#asking-device .badge').textContent(), 'Fernseher');

  await page.setExtraHTTPHeaders({ 'Accept-Language': 'hi' });
  await page.goto(complete!);
  const inHindi = (await page.locator('#asking-device').textContent())!.replace(/\s+/g, ' ').trim();
  t.is(inHindi, 'Wohnzimmer टीवी आपके खाते से VEZE TV में साइन इन करना चाहता है।');
});
