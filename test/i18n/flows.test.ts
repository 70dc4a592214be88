import test, { type ExecutionContext } from 'ava';
import * as oidc from 'openid-client';
import type { Page } from 'playwright-core';
import { launchBrowser } from '../helpers/browser.ts';
import { callbackUrl, makeClient, makePerson, makeService, relyingParty, type Person } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { startMailCatcher } from '../helpers/mail-catcher.ts';
import { eventually } from '../portal/portal-helpers.ts';

async function browserPage(t: ExecutionContext, options: { locale?: string; timeZone?: string; width?: number } = {}): Promise<Page> {
  const browser = await launchBrowser();
  const context = await browser.newContext({ viewport: { width: options.width ?? 1280, height: 900 }, locale: options.locale ?? 'en-US', timezoneId: options.timeZone ?? 'UTC' });
  t.teardown(() => context.close());
  const page = await context.newPage();
  page.setDefaultTimeout(60_000);
  return page;
}

async function signIn(page: Page, person: Person, labels = { email: 'Email', password: 'Password', button: 'Sign in' }): Promise<void> {
  await page.getByLabel(labels.email).fill(person.email);
  await page.getByLabel(labels.password, { exact: true }).fill(person.password);
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.getByRole('button', { name: labels.button, exact: true }).click()]);
}

test('a sign-in driven entirely in Hindi by ui_locales=hi, over the saved French; the locale claim is the saved language', async (t) => {
  const hub = await startTestHub(t);
  const person = await makePerson(hub, { name: 'Ada' });
  await hub.db('users').where({ id: person.id }).update({ locale: 'fr' });
  await makeService(hub, 'partner');
  const client = await makeClient(hub, { service: 'partner' });
  const rp = await relyingParty(hub, client);
  const verifier = oidc.randomPKCECodeVerifier();
  const url = oidc.buildAuthorizationUrl(rp, {
    redirect_uri: callbackUrl,
    scope: 'openid email profile',
    ui_locales: 'hi',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  // The browser asks for German: ui_locales still wins.
  const page = await browserPage(t, { locale: 'de-DE', width: 360 });
  let landed: URL | undefined;
  await page.route(`${callbackUrl}**`, (route) => {
    landed = new URL(route.request().url());
    return route.fulfill({ status: 200, body: 'ok' });
  });
  await page.goto(url.href);
  t.is(await page.locator('html').getAttribute('lang'), 'hi');
  t.is(await page.getByRole('heading', { level: 1 }).textContent(), 'साइन इन');
  await signIn(page, person, { email: 'ईमेल', password: 'पासवर्ड', button: 'साइन इन करें' });

  // The consent page: Hindi, scope descriptions included, though the person saved French.
  t.is(await page.locator('html').getAttribute('lang'), 'hi');
  t.is(await page.getByRole('heading', { level: 1 }).textContent(), 'पहुँच की अनुमति दें');
  const asks = await page.locator('.checklist li').allTextContents();
  t.deepEqual(asks.sort(), ['आपका ईमेल पता देखना', 'आपका नाम और भाषा देखना', 'जानना कि आप कौन हैं (आपके खाते की आईडी)'].sort());
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  t.true(overflow <= 0);
  await page.getByRole('button', { name: 'अनुमति दें' }).click();
  await page.waitForURL(`${callbackUrl}**`);
  t.truthy(landed?.searchParams.get('code'));

  const tokens = await oidc.authorizationCodeGrant(rp, landed!, { pkceCodeVerifier: verifier });
  // The ID token of a code flow carries only the openid claims (the provider's conformIdTokenClaims); userinfo has the rest.
  const userinfo = await oidc.fetchUserInfo(rp, tokens.access_token, tokens.claims()!.sub);
  t.is(userinfo.locale, 'fr', 'the locale claim is the language the person chose');
  const discovery = (await (await fetch(`${hub.url}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
  t.deepEqual(discovery.ui_locales_supported, ['en', 'hi', 'de', 'fr']);
  t.deepEqual(discovery.claims_locales_supported, ['en', 'hi', 'de', 'fr']);
});

test('a person who saved German gets their password-reset mail in German, its time in their zone', async (t) => {
  const mail = await startMailCatcher(t);
  const hub = await startTestHub(t, { env: { SMTP_URL: mail.url } });
  const person = await makePerson(hub, { name: 'Clara' });
  await hub.db('users').where({ id: person.id }).update({ locale: 'de', time_zone: 'America/New_York' });
  // Asked from an English browser: the mail follows the person, not the page.
  const response = await fetch(`${hub.url}/reset`, { method: 'POST', body: new URLSearchParams({ email: person.email }), headers: { 'Accept-Language': 'en' } });
  t.is(response.status, 200);
  const message = await mail.waitFor(person.email, /UniQVerse/);
  t.is(message.subject, 'Setzen Sie Ihr UniQVerse-Passwort zurück');
  t.regex(message.text, /^Hallo Clara,/);
  t.regex(message.text, /Öffnen Sie diesen Link/);
  t.regex(message.text, /Er gilt einmal, \d+ Minuten lang\./);
  // New York is UTC-5 (EST) in winter and UTC-4 in summer.
  t.regex(message.text, /Anfrage von .+ am \d{1,2}\. \S+ \d{4}, \d{2}:\d{2} GMT-[45]\./);
  t.notRegex(message.text, /undefined|mail\./);
  // The HTML part says the same in German, its one link the text's link.
  const link = /https?:\/\/\S+\/reset\/[\w-]+/.exec(message.text)![0];
  t.regex(message.html, /^<!doctype html>\s*<html lang="de">/);
  t.regex(message.html, /<p[^>]*>Hallo Clara,<\/p>/);
  t.true(message.html.includes(`<a href="${link}"`));
  t.regex(message.html, />Neues Passwort wählen<\/a>/);
  t.regex(message.html, /Er gilt einmal, \d+ Minuten lang\./);
  t.regex(message.html, /Anfrage von .+ am \d{1,2}\. \S+ \d{4}, \d{2}:\d{2} GMT-[45]\./);
  t.regex(message.html, new RegExp(`an ${person.email.replace(/[.+]/g, '\\$&')} gesendet`));
  t.notRegex(message.html, /undefined|mail\./);
});

test('portal times are shown in the person’s zone: Asia/Kolkata, then America/New_York; the instant stays in <time datetime>', async (t) => {
  const hub = await startTestHub(t);
  const person = await makePerson(hub);
  await hub.db('users').where({ id: person.id }).update({ time_zone: 'Asia/Kolkata' });
  const page = await browserPage(t);
  await page.goto(`${hub.url}/account`);
  await signIn(page, person);
  const signedIn = await hub.db('audit_log').where({ action: 'signin.succeeded', subject_id: person.id }).first();
  const at = new Date(signedIn.occurred_at);
  const kolkata = new Intl.DateTimeFormat('en', { year: 'numeric', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit', timeZone: 'Asia/Kolkata', timeZoneName: 'short' }).format(at);

  await page.goto(`${hub.url}/account/security`);
  const entry = page.locator('#security-activity li').first();
  t.is(await entry.locator('time').getAttribute('datetime'), at.toISOString());
  t.is(await entry.locator('time').textContent(), kolkata);
  t.regex(kolkata, /GMT\+5:30$/);

  await hub.db('users').where({ id: person.id }).update({ time_zone: 'America/New_York' });
  await page.reload();
  const newYork = (await page.locator('#security-activity li time').first().textContent())!;
  t.regex(newYork, /(EST|EDT)$/);
  t.is(newYork, new Intl.DateTimeFormat('en', { year: 'numeric', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit', timeZone: 'America/New_York', timeZoneName: 'short' }).format(at));

  // The home page says how long ago, with the exact time in its title.
  await page.goto(`${hub.url}/account`);
  const lastSignIn = page.locator('.kv time').first();
  t.regex((await lastSignIn.textContent())!, /now|seconds? ago|minutes? ago/);
  t.is(await lastSignIn.getAttribute('title'), newYork);
});

test('the browser’s time zone is saved once when the account has none; a zone Intl does not know is a 400 with the field marked', async (t) => {
  const hub = await startTestHub(t);
  const person = await makePerson(hub);
  const page = await browserPage(t, { timeZone: 'Asia/Kolkata' });
  await page.goto(`${hub.url}/account`);
  await signIn(page, person);
  const saved = (await eventually(async () => (await hub.db('users').where({ id: person.id }).first()).time_zone as string | null, 'the browser’s zone saved'))!;
  t.regex(saved, /^Asia\/(Kolkata|Calcutta)$/);
  t.truthy(await hub.db('audit_log').where({ action: 'preferences.changed', subject_id: person.id }).first());

  // Saved: a browser elsewhere does not move it.
  const travelling = await browserPage(t, { timeZone: 'America/New_York' });
  await travelling.goto(`${hub.url}/account`);
  await signIn(travelling, person);
  await travelling.goto(`${hub.url}/account/security`);
  t.is((await hub.db('users').where({ id: person.id }).first()).time_zone, saved);

  // The picker: a zone that does not exist, then a language that is not ours.
  const post = (form: Record<string, string>) =>
    page.evaluate(async (body) => {
      const token = document.querySelector<HTMLMetaElement>('meta[name="csrf-token"]')!.content;
      const response = await fetch('/account/preferences', { method: 'POST', body: new URLSearchParams({ ...body, _csrf: token }), redirect: 'manual' });
      return { status: response.status, html: await response.text() };
    }, form);
  const badZone = await post({ locale: 'en', timeZone: 'Mars/Olympus_Mons' });
  t.is(badZone.status, 400);
  t.regex(badZone.html, /id="pref-time-zone-error">Choose a time zone from the list/);
  const badLocale = await post({ locale: 'xx', timeZone: 'UTC' });
  t.is(badLocale.status, 400);
  t.regex(badLocale.html, /Choose a language from the list\./);
  t.is((await hub.db('users').where({ id: person.id }).first()).time_zone, saved);

  await page.goto(`${hub.url}/account`);
  await page.getByLabel('Time zone', { exact: true }).selectOption('America/New_York');
  await page.getByLabel('Language', { exact: true }).selectOption('de');
  await Promise.all([page.waitForURL(/notice=preferences-saved/), page.getByRole('button', { name: 'Save' }).click()]);
  t.is(await page.getByRole('status').filter({ hasText: 'gespeichert' }).first().textContent(), 'Ihre Sprache und Zeitzone sind gespeichert.');
  const row = await hub.db('users').where({ id: person.id }).first();
  t.is(row.locale, 'de');
  t.is(row.time_zone, 'America/New_York');
  const event = await hub.db('outbox').where({ type: 'user.updated', user_id: person.id }).orderBy('id', 'desc').first();
  t.deepEqual(event.data.changed, ['locale']);
});

test('an API error keeps its code as title and gives its detail in the caller’s Accept-Language', async (t) => {
  const hub = await startTestHub(t);
  const answer = async (language: string) => {
    // A form post without its anti-CSRF token, from a client that wants JSON.
    const response = await fetch(`${hub.url}/account/preferences`, { method: 'POST', body: new URLSearchParams({ locale: 'de' }), headers: { 'Accept-Language': language, Accept: 'application/json' } });
    return { status: response.status, body: (await response.json()) as { title: string; detail: string } };
  };
  const german = await answer('de-DE,de;q=0.9');
  t.is(german.status, 403);
  t.is(german.body.title, 'csrf_failed');
  t.is(german.body.detail, 'Dieses Formular ist abgelaufen oder stammt nicht von dieser Website. Laden Sie die Seite neu und versuchen Sie es erneut.');
  t.is((await answer('hi')).body.detail, 'यह फ़ॉर्म पुराना हो गया है या इस साइट से नहीं आया। पेज फिर से लोड करके कोशिश करें।');
  t.is((await answer('ja')).body.detail, 'This form has expired or did not come from this site. Reload the page and try again.');
});
