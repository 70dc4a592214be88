import test from 'ava';
import { acceptedLanguages, formatDateTime, formatRelative, isTimeZone, negotiateLocale, t as translate, translateShown } from '../../src/platform/i18n.ts';

test('ui_locales comes first, then the saved choice, then Accept-Language, then English', (t) => {
  t.is(negotiateLocale({ uiLocales: 'hi', saved: 'fr', acceptLanguage: 'de' }), 'hi');
  t.is(negotiateLocale({ saved: 'fr', acceptLanguage: 'de' }), 'fr');
  t.is(negotiateLocale({ acceptLanguage: 'de' }), 'de');
  t.is(negotiateLocale({}), 'en');
});

test('ui_locales is a space-separated list, most wanted first; languages the hub lacks are skipped', (t) => {
  t.is(negotiateLocale({ uiLocales: 'ja fr-CA de', saved: 'hi' }), 'fr');
  t.is(negotiateLocale({ uiLocales: 'hi-IN' }), 'hi');
  t.is(negotiateLocale({ uiLocales: 'ja ko', saved: 'de' }), 'de', 'nothing of ours asked: the saved choice');
  t.is(negotiateLocale({ uiLocales: '!!! @@', acceptLanguage: 'fr' }), 'fr', 'malformed tags are ignored, not an error');
});

test('a saved value that is not one of ours is ignored', (t) => {
  t.is(negotiateLocale({ saved: 'xx', acceptLanguage: 'de-AT' }), 'de');
});

test('Accept-Language is read by quality, then order; * and q=0 choose nothing', (t) => {
  t.deepEqual(acceptedLanguages('fr;q=0.5, de-CH, hi;q=0.9, *;q=0.1, en;q=0'), ['de-CH', 'hi', 'fr']);
  t.is(negotiateLocale({ acceptLanguage: 'ja, fr;q=0.4, de;q=0.6' }), 'de');
  t.is(negotiateLocale({ acceptLanguage: 'ja, zh' }), 'en');
  t.is(negotiateLocale({ acceptLanguage: 'q=;;,,' }), 'en');
});

test('a key a language lacks falls back to English; a key English lacks shows as itself', (t) => {
  t.is(translate('de', 'common.save'), 'Speichern');
  t.is(translate('hi', 'no.such.key'), 'no.such.key');
});

test('plurals follow the language', (t) => {
  t.is(translate('en', 'home.sessionCount', { count: 1 }), '1 session');
  t.is(translate('de', 'home.sessionCount', { count: 3 }), '3 Sitzungen');
  t.is(translate('fr', 'recovery.left', { remaining: 0 }).startsWith('C’était votre dernier code'), true);
});

test('an English message the code wrote is shown in the language when the catalogue has it, else as it came', (t) => {
  t.is(translateShown('de', 'Wrong email or password.'), 'E-Mail oder Passwort ist falsch.');
  t.is(translateShown('hi', 'Wrong email or password.'), 'ईमेल या पासवर्ड ग़लत है।');
  t.is(translateShown('fr', 'A sentence no catalogue has.'), 'A sentence no catalogue has.');
});

test('times are shown in the person’s zone and language: Asia/Kolkata and America/New_York', (t) => {
  const at = new Date('2026-12-06T07:07:00Z');
  t.is(formatDateTime(at, 'en', 'Asia/Kolkata'), 'Dec 6, 2026, 12:37 PM GMT+5:30');
  t.is(formatDateTime(at, 'en', 'America/New_York'), 'Dec 6, 2026, 2:07 AM EST');
  t.is(formatDateTime(at, 'de', 'Asia/Kolkata'), '6. Dez. 2026, 12:37 GMT+5:30');
  t.regex(formatDateTime(at, 'hi', 'Asia/Kolkata'), /^6 दिस॰ 2026, 12:37 pm IST$/);
  t.is(formatDateTime(at, 'fr', 'America/New_York'), '6 déc. 2026, 02:07 UTC−5');
  t.is(formatDateTime(at, 'en'), 'Dec 6, 2026, 7:07 AM UTC', 'UTC until the person has a zone');
});

test('relative times in each language', (t) => {
  const now = new Date('2026-12-06T12:00:00Z');
  const fiveMinutesAgo = new Date(now.getTime() - 5 * 60_000);
  t.is(formatRelative(fiveMinutesAgo, 'en', now), '5 minutes ago');
  t.is(formatRelative(fiveMinutesAgo, 'de', now), 'vor 5 Minuten');
  t.is(formatRelative(fiveMinutesAgo, 'fr', now), 'il y a 5 minutes');
  t.is(formatRelative(fiveMinutesAgo, 'hi', now), '5 मिनट पहले');
  t.is(formatRelative(new Date(now.getTime() - 26 * 3600_000), 'en', now), 'yesterday');
  t.is(formatRelative(now, 'en', now), 'now');
});

test('time zones are checked with Intl', (t) => {
  t.true(isTimeZone('Asia/Kolkata'));
  t.true(isTimeZone('America/New_York'));
  t.true(isTimeZone('UTC'));
  t.false(isTimeZone('Mars/Olympus_Mons'));
  t.false(isTimeZone(''));
  t.false(isTimeZone(5));
});

test('a message the code wrote with values is shown in the language with the same values', (t) => {
  t.is(translateShown('de', 'Give a page or deep link of vezepygame.'), 'Geben Sie eine Seite oder einen Deep Link von vezepygame an.');
  t.is(translateShown('fr', 'Sign-in failed: server_error'), 'La connexion a échoué : server_error');
  t.is(translateShown('hi', "url: Give a page or deep link of vezepygame (its site, its apps' addresses or their schemes)."), 'url: vezepygame का कोई पेज या डीप लिंक दें (उसकी साइट, उसके ऐप्स के पते या उनकी स्कीम)।');
  t.is(translateShown('de', 'Give a page of vezepygame.'), 'Give a page of vezepygame.', 'only the whole message matches');
  t.is(translateShown('de', 'kind is one of phone, tv.'), 'kind ist einer von: phone, tv.');
  t.is(translateShown('fr', 'A service with slug "vezepygame" already exists.'), 'Un service avec l’identifiant « vezepygame » existe déjà.');
  t.is(translateShown('de', 'The hub limit must be a whole number of requests a minute from 1 to 1000000, or "default".'), 'Das Limit hub muss eine ganze Zahl von Anfragen pro Minute von 1 bis 1000000 sein oder „default“.');
  t.is(translateShown('en', 'Sign-in failed: server_error'), 'Sign-in failed: server_error');
});
