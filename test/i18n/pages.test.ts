import test, { type ExecutionContext } from 'ava';
import type { Page } from 'playwright-core';
import { launchBrowser } from '../helpers/browser.ts';
import type { Hub } from '../../src/app/start.ts';
import { createAppPassword } from '../../src/identity/app-passwords.ts';
import { makeClient, makePerson, makeService, relyingParty, type Person } from '../helpers/fixtures.ts';
import { signedInTokens } from '../helpers/oidc.ts';
import { api, hubAudience } from '../events/helpers.ts';
import { startTestHub } from '../helpers/hub.ts';
import { defaultLocale, locales, readCatalogue, type Locale } from '../../src/platform/i18n.ts';
import { setUpAuthenticatorApp, totpCode } from '../identity/strong-sign-in-helpers.ts';

/** A phone-sized page whose browser speaks `locale` (its Accept-Language) and lives in `timeZone`. */
async function phonePage(t: ExecutionContext, locale: string, timeZone = 'UTC'): Promise<Page> {
  const browser = await launchBrowser();
  const context = await browser.newContext({ viewport: { width: 360, height: 780 }, locale, timezoneId: timeZone });
  t.teardown(() => context.close());
  const page = await context.newPage();
  page.setDefaultTimeout(60_000);
  return page;
}

/** What each language calls a few things every page or form shows. */
const words: Record<Locale, { email: string; password: string; signIn: string; createAccount: string; verify: string; home: string; save: string; continue: string }> = {
  en: { email: 'Email', password: 'Password', signIn: 'Sign in', createAccount: 'Create account', verify: 'Verify', home: 'Home', save: 'Save', continue: 'Continue' },
  hi: { email: 'ईमेल', password: 'पासवर्ड', signIn: 'साइन इन करें', createAccount: 'खाता बनाएँ', verify: 'पुष्टि करें', home: 'होम', save: 'सहेजें', continue: 'जारी रखें' },
  de: { email: 'E-Mail', password: 'Passwort', signIn: 'Anmelden', createAccount: 'Konto erstellen', verify: 'Bestätigen', home: 'Start', save: 'Speichern', continue: 'Weiter' },
  fr: { email: 'E-mail', password: 'Mot de passe', signIn: 'Se connecter', createAccount: 'Créer un compte', verify: 'Vérifier', home: 'Accueil', save: 'Enregistrer', continue: 'Continuer' },
};

const catalogueKeys = Object.keys(readCatalogue(defaultLocale));

/** The page is in `locale`, shows no key names and no "undefined", and does not scroll sideways at 360 px. */
async function assertDrawnIn(t: ExecutionContext, page: Page, locale: Locale, what: string): Promise<void> {
  t.is(await page.locator('html').getAttribute('lang'), locale, `${what}: <html lang>`);
  const text = await page.locator('body').innerText();
  t.notRegex(text, /\bundefined\b/, `${what}: "undefined" shown`);
  // Any key of the catalogue shown as itself (the page's data, such as an event type like device.registered, is no key).
  t.deepEqual(catalogueKeys.filter((key) => text.includes(key)), [], `${what}: a key name shown`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  t.true(overflow <= 0, `${what}: ${overflow}px wider than the 360 px screen`);
}

/** A phone app of the person, signed in by code + PKCE, that registers its device with the hub. */
async function registerDevice(hub: Hub, person: Person, device: Record<string, string>): Promise<void> {
  const client = await makeClient(hub, { service: 'vezepyweb', type: 'native' });
  const rp = await relyingParty(hub, client);
  const tokens = await signedInTokens({ hub, rp, person }, { resource: hubAudience(hub), scope: 'openid hub offline_access' });
  const registered = await api(hub, '/hub/devices', tokens.access_token, { method: 'POST', body: JSON.stringify(device) });
  if (registered.status !== 201) throw new Error(`device not registered: ${registered.status}`);
}

/** Chromium on Linux, as the sessions page names this browser in each language. */
const browserOn: Record<Locale, string> = { en: 'Chrome on Linux', hi: 'Linux पर Chrome', de: 'Chrome auf Linux', fr: 'Chrome sur Linux' };

async function signIn(page: Page, locale: Locale, person: Person): Promise<void> {
  await page.getByLabel(words[locale].email).fill(person.email);
  await page.getByLabel(words[locale].password, { exact: true }).fill(person.password);
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.getByRole('button', { name: words[locale].signIn, exact: true }).click()]);
}

// One at a time: twenty hubs with a browser each at once would take more PostgreSQL connections than the server has.
for (const locale of locales) {
  test.serial(`sign-in, sign-up, password reset and device flow pages in ${locale}, from Accept-Language, at 360 px`, async (t) => {
    const hub = await startTestHub(t);
    const page = await phonePage(t, locale);

    await page.goto(`${hub.url}/account`);
    await assertDrawnIn(t, page, locale, 'sign-in');
    t.true(await page.getByRole('button', { name: words[locale].signIn, exact: true }).isVisible());
    t.true(await page.getByLabel(words[locale].password, { exact: true }).isVisible());

    await page.getByRole('link', { name: words[locale].createAccount }).click();
    await assertDrawnIn(t, page, locale, 'sign-up');
    t.true(await page.getByRole('button', { name: words[locale].createAccount }).isVisible());
    // A form error comes back in the language too.
    await page.getByRole('button', { name: words[locale].createAccount }).click();
    await assertDrawnIn(t, page, locale, 'sign-up with errors');
    const expected = { en: 'Enter your name.', hi: 'अपना नाम दर्ज करें।', de: 'Geben Sie Ihren Namen ein.', fr: 'Saisissez votre nom.' }[locale];
    t.is(await page.locator('#name_error').textContent(), expected);

    await page.goto(`${hub.url}/reset`);
    await assertDrawnIn(t, page, locale, 'reset');
    t.true(await page.getByLabel(words[locale].email).isVisible());

    await page.goto(`${hub.url}/device`);
    await assertDrawnIn(t, page, locale, 'device flow');
    t.true(await page.getByRole('button', { name: words[locale].continue }).isVisible());

    await page.goto(`${hub.url}/no-such-page`);
    await assertDrawnIn(t, page, locale, 'error page');
  });

  test.serial(`the second factor and the portal in ${locale}, the language saved with the picker, at 360 px`, async (t) => {
    const hub = await startTestHub(t);
    const person = await makePerson(hub, { name: 'Savitribai Phule' });
    // The browser asks for English: from the saved choice on, the portal speaks the person's language.
    const page = await phonePage(t, 'en-US');
    await page.goto(`${hub.url}/account`);
    await signIn(page, 'en', person);
    // A second step, set up in English: the next sign-in will ask for it.
    const secret = await setUpAuthenticatorApp(page, hub.url);
    await page.goto(`${hub.url}/account`);
    await page.getByLabel('Language', { exact: true }).selectOption(locale);
    await Promise.all([page.waitForURL(/notice=preferences-saved/), page.getByRole('button', { name: 'Save' }).click()]);
    await assertDrawnIn(t, page, locale, 'portal home');
    t.true(await page.getByRole('link', { name: words[locale].home }).isVisible());
    const audit = await hub.db('audit_log').where({ action: 'preferences.changed', subject_id: person.id }).whereRaw("data->>'locale' is not null").first();
    t.is(audit?.data.locale, locale);
    for (const section of ['security', 'sessions', 'services', 'privacy', 'activity', 'devices']) {
      await page.goto(`${hub.url}/account/${section}`);
      await assertDrawnIn(t, page, locale, section);
      // The browser's name from its user agent, with the "on" in the language.
      if (section === 'sessions') t.true((await page.locator('body').innerText()).includes(browserOn[locale]), `sessions: ${browserOn[locale]}`);
      // The security log's lines in the language: what happened and from which browser.
      if (section === 'security') {
        const log = await page.locator('#security-activity').innerText();
        for (const line of [readCatalogue(locale)['securityActivity.authenticatorOn']!, readCatalogue(locale)['securityActivity.signedIn']!, browserOn[locale]]) t.true(log.includes(line), `security log: ${line}`);
      }
    }

    // The next sign-in asks for the second step in the saved language (Accept-Language is English).
    const other = await phonePage(t, 'en-US');
    await other.goto(`${hub.url}/account`);
    await signIn(other, 'en', person);
    t.regex(other.url(), /\/second-factor$/);
    // The sign-in page came before the person was known (English, as the browser asks); the second step knows them.
    await assertDrawnIn(t, other, locale, 'second factor');
    await other.locator('#code').fill(await totpCode(secret, 1));
    await Promise.all([other.waitForURL(`${hub.url}/account`), other.getByRole('button', { name: words[locale].verify }).click()]);
  });
}

/** What the data page calls a few of its parts in each language. */
const dataWords: Record<Locale, { title: string; devices: string; securityLog: string; appVersion: string }> = {
  en: { title: 'Your data', devices: 'Devices', securityLog: 'Security log', appVersion: 'App version' },
  hi: { title: 'आपका डेटा', devices: 'डिवाइस', securityLog: 'सुरक्षा लॉग', appVersion: 'ऐप संस्करण' },
  de: { title: 'Ihre Daten', devices: 'Geräte', securityLog: 'Sicherheitsprotokoll', appVersion: 'App-Version' },
  fr: { title: 'Vos données', devices: 'Appareils', securityLog: 'Journal de sécurité', appVersion: 'Version de l’appli' },
};

/** What the Devices page calls its parts in each language. */
const deviceWords: Record<Locale, { heading: string; tv: string; remove: string; appPasswords: string; neverUsed: string; everyService: string; create: string; deviceName: string }> = {
  en: { heading: 'Your devices', tv: 'TV', remove: 'Remove this device', appPasswords: 'App passwords', neverUsed: 'Never used', everyService: 'For every service', create: 'Create app password', deviceName: 'Device name' },
  hi: { heading: 'आपके डिवाइस', tv: 'टीवी', remove: 'यह डिवाइस हटाएँ', appPasswords: 'ऐप पासवर्ड', neverUsed: 'कभी इस्तेमाल नहीं हुआ', everyService: 'हर सेवा के लिए', create: 'ऐप पासवर्ड बनाएँ', deviceName: 'डिवाइस का नाम' },
  de: { heading: 'Ihre Geräte', tv: 'Fernseher', remove: 'Dieses Gerät entfernen', appPasswords: 'App-Passwörter', neverUsed: 'Nie genutzt', everyService: 'Für alle Dienste', create: 'App-Passwort erstellen', deviceName: 'Gerätename' },
  fr: { heading: 'Vos appareils', tv: 'téléviseur', remove: 'Retirer cet appareil', appPasswords: 'Mots de passe d’application', neverUsed: 'Jamais utilisé', everyService: 'Pour tous les services', create: 'Créer le mot de passe d’application', deviceName: 'Nom de l’appareil' },
};

for (const locale of locales) {
  test.serial(`the Devices page with a registered device and an app password, and the data page, in ${locale} at 360 px`, async (t) => {
    const hub = await startTestHub(t);
    await makeService(hub, 'vezepyweb', { firstParty: true });
    const person = await makePerson(hub);
    await registerDevice(hub, person, { kind: 'tv', os: 'Android TV 14', app_version: '2.0.1' });
    await createAppPassword(hub.db, hub.secrets.credentials, person.id, { deviceName: 'Thunderbird', deviceType: 'desktop', service: 'all', device: '' });
    const page = await phonePage(t, locale);
    await page.goto(`${hub.url}/account/devices`);
    await signIn(page, locale, person);
    await page.goto(`${hub.url}/account/devices`);
    await assertDrawnIn(t, page, locale, 'devices');
    const words = deviceWords[locale];
    t.is(await page.locator('#devices-heading').textContent(), words.heading);
    // A device that gave no name is named by its kind and system, in the page's language.
    t.is((await page.locator('#devices .list-title').textContent())!.replace(/\s+/g, ' ').trim(), `${words.tv} (Android TV 14) ${words.tv}`);
    t.true(await page.getByRole('button', { name: words.remove }).isVisible());
    t.is(await page.locator('#app-passwords-heading').textContent(), words.appPasswords);
    const appPasswords = (await page.locator('#app-passwords').textContent())!;
    t.true(appPasswords.includes(words.neverUsed), appPasswords);
    t.true(appPasswords.includes(words.everyService), appPasswords);
    t.true(await page.getByLabel(words.deviceName).isVisible());
    t.true(await page.getByRole('button', { name: words.create }).isVisible());

    // The data page: every section titled and every field labelled in the language.
    await page.goto(`${hub.url}/account/privacy/data`);
    await assertDrawnIn(t, page, locale, 'data page');
    t.is(await page.getByRole('heading', { level: 1 }).textContent(), dataWords[locale].title);
    const sections = await page.getByRole('heading', { level: 2 }).allTextContents();
    t.true(sections.includes(dataWords[locale].devices) && sections.includes(dataWords[locale].securityLog), sections.join(' | '));
    const columns = await page.locator('#data-devices').locator('xpath=..').locator('th').allTextContents();
    t.true(columns.includes(dataWords[locale].appVersion), columns.join(' | '));
  });
}

/** What the admin console's pages are titled in each language. */
const adminWords: Record<Locale, { users: string; services: string; audit: string; keys: string; system: string; account: string; rotate: string; limits: string; addClient: string; clientRegistered: string }> = {
  en: { users: 'Users', services: 'Services', audit: 'Audit log', keys: 'Signing keys', system: 'System', account: 'Account', rotate: 'Rotate keys', limits: 'Rate limits', addClient: 'Add client', clientRegistered: 'Client registered' },
  hi: { users: 'उपयोगकर्ता', services: 'सेवाएँ', audit: 'ऑडिट लॉग', keys: 'हस्ताक्षर कुंजियाँ', system: 'सिस्टम', account: 'खाता', rotate: 'कुंजियाँ बदलें', limits: 'दर सीमाएँ', addClient: 'क्लाइंट जोड़ें', clientRegistered: 'क्लाइंट दर्ज हो गया' },
  de: { users: 'Benutzer', services: 'Dienste', audit: 'Prüfprotokoll', keys: 'Signaturschlüssel', system: 'System', account: 'Konto', rotate: 'Schlüssel wechseln', limits: 'Ratenlimits', addClient: 'Client hinzufügen', clientRegistered: 'Client registriert' },
  fr: { users: 'Utilisateurs', services: 'Services', audit: 'Journal d’audit', keys: 'Clés de signature', system: 'Système', account: 'Compte', rotate: 'Renouveler les clés', limits: 'Limites de débit', addClient: 'Ajouter le client', clientRegistered: 'Client enregistré' },
};

for (const locale of locales) {
  test.serial(`the admin console's users, user, services, service, client registered, audit, keys and system pages (and a service form error) in ${locale} at 360 px`, async (t) => {
    const hub = await startTestHub(t);
    await makeService(hub, 'vezepyweb', { firstParty: true });
    const admin = await makePerson(hub, { admin: true });
    const page = await phonePage(t, locale);
    await page.goto(`${hub.url}/admin/users`);
    await signIn(page, locale, admin);
    const words = adminWords[locale];
    const pages: Array<[string, string]> = [
      ['/admin/users', words.users],
      [`/admin/users/${admin.id}`, admin.name],
      ['/admin/services', words.services],
      ['/admin/audit', words.audit],
      ['/admin/keys', words.keys],
      ['/admin/system', words.system],
    ];
    for (const [path, heading] of pages) {
      await page.goto(`${hub.url}${path}`);
      await assertDrawnIn(t, page, locale, path);
      t.is((await page.getByRole('heading', { level: 1 }).textContent())!.trim(), heading, path);
    }
    await page.goto(`${hub.url}/admin/users/${admin.id}`);
    t.is(await page.locator('#account-heading').textContent(), words.account);
    await page.goto(`${hub.url}/admin/keys`);
    t.true(await page.getByRole('button', { name: words.rotate }).isVisible());
    await page.goto(`${hub.url}/admin/services/vezepyweb`);
    await assertDrawnIn(t, page, locale, '/admin/services/vezepyweb');
    t.is(await page.locator('#limits-heading').textContent(), words.limits);
    await page.locator('#client-type').selectOption('device');
    await page.getByRole('button', { name: words.addClient }).click();
    await page.getByRole('heading', { level: 1, name: words.clientRegistered }).waitFor();
    await assertDrawnIn(t, page, locale, 'client registered');
    await page.goto(`${hub.url}/admin/services`);
    await page.locator('#f-slug').fill('Not A Slug!');
    await page.locator('#f-name').fill('VEZEPyChess');
    await page.locator('#service-form button[type=submit]').click();
    await page.locator('#f-slug-error').waitFor();
    t.is(await page.locator('#f-slug-error').textContent(), readCatalogue(locale)['error.slugRule']!, 'the form error in the page language');
  });
}

for (const locale of locales) {
  test.serial(`the development mailbox and its not-found page in ${locale} at 360 px`, async (t) => {
    const hub = await startTestHub(t);
    const catalogue = readCatalogue(locale);
    const page = await phonePage(t, locale);
    await page.goto(`${hub.url}/dev/mailbox`);
    await assertDrawnIn(t, page, locale, 'mailbox');
    t.is((await page.getByRole('heading', { level: 1 }).textContent())!.trim(), catalogue['title.devMailbox']!);
    t.true((await page.locator('main').innerText()).includes(catalogue['mailbox.none']!));
    await page.goto(`${hub.url}/dev/mailbox/nothing-here`);
    t.true((await page.locator('body').innerText()).includes(catalogue['error.noSuchMail']!));
  });
}
