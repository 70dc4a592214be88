import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { IntlMessageFormat } from 'intl-messageformat';
import { match } from '@formatjs/intl-localematcher';

/** The languages the hub speaks; English is the source every other catalogue is checked against. */
export const locales = ['en', 'hi', 'de', 'fr'] as const;
export type Locale = (typeof locales)[number];
export const defaultLocale: Locale = 'en';

/** Each language's own name, as the picker lists it. */
export const localeNames: Record<Locale, string> = { en: 'English', hi: 'हिन्दी', de: 'Deutsch', fr: 'Français' };

/** A value that is not there, for a message's `{x, select, __none {…} other {…}}` (ICU cannot select on an empty string). */
export const noValue = '__none';
export const orNone = (value: string | null | undefined) => (value ? value : noValue);

export type MessageValues = Record<string, string | number | boolean | Date | null | undefined>;

const catalogueFolder = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../locales');

export type Catalogue = Record<string, string>;

/** The catalogue of one language as it is on disk (flat dotted keys, ICU MessageFormat values). */
export function readCatalogue(locale: Locale): Catalogue {
  return JSON.parse(readFileSync(path.join(catalogueFolder, `${locale}.json`), 'utf8')) as Catalogue;
}

const catalogues = new Map<Locale, Catalogue>(locales.map((locale) => [locale, readCatalogue(locale)]));
const compiled = new Map<string, IntlMessageFormat>();

export const isLocale = (value: unknown): value is Locale => typeof value === 'string' && (locales as readonly string[]).includes(value);

/** Whether English has the key (the source of truth for which keys exist). */
export const hasMessage = (key: string) => key in catalogues.get(defaultLocale)!;

/**
 * One message in one language: a key the language lacks falls back to English; a key English
 * lacks is shown as itself (the catalogue test fails the build before that ships).
 */
export function t(locale: Locale, key: string, values?: MessageValues): string {
  return String(compiledMessage(locale, key)?.format(values as Record<string, string | number | boolean | Date | null | undefined>) ?? key);
}

function compiledMessage(locale: Locale, key: string): IntlMessageFormat | undefined {
  const own = catalogues.get(locale)?.[key];
  const source = own ?? catalogues.get(defaultLocale)![key];
  if (source === undefined) return undefined;
  const language = own === undefined ? defaultLocale : locale;
  const cacheKey = `${language}\u0000${key}`;
  let message = compiled.get(cacheKey);
  if (!message) {
    message = new IntlMessageFormat(source, language);
    compiled.set(cacheKey, message);
  }
  return message;
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const emphasis = ['strong', 'code', 'em'] as const;
/** Words only a screen reader needs ("Privacy choices<span> for VEZEPyGame</span>"), and a word set as a badge (<badge>). */
const tagMarkup: Record<string, [string, string]> = { span: ['<span class="visually-hidden">', '</span>'], badge: ['<span class="badge">', '</span>'] };

/**
 * A message as HTML: its values escaped, its <strong>, <code> and <em> tags kept, <span> hidden but for screen readers
 * ("to continue to <strong>{client}</strong>"), so translators can move the emphasis with the words.
 */
export function tHtml(locale: Locale, key: string, values: MessageValues = {}): string {
  const message = compiledMessage(locale, key);
  if (!message) return escapeHtml(key);
  const escaped: Record<string, unknown> = Object.fromEntries(Object.entries(values).map(([name, value]) => [name, typeof value === 'string' ? escapeHtml(value) : value]));
  for (const tag of emphasis) escaped[tag] = (chunks: unknown[]) => `<${tag}>${chunks.join('')}</${tag}>`;
  for (const [tag, [open, close]] of Object.entries(tagMarkup)) escaped[tag] = (chunks: unknown[]) => `${open}${chunks.join('')}${close}`;
  const result = message.format(escaped as Record<string, string>);
  return Array.isArray(result) ? result.join('') : String(result);
}

/**
 * The language of a page or mail, in the order the hub honours: the OIDC `ui_locales` request
 * (space-separated, most wanted first), then the person's saved choice, then the browser's
 * Accept-Language, then English.
 */
export function negotiateLocale({ uiLocales, saved, acceptLanguage }: { uiLocales?: string | null; saved?: string | null; acceptLanguage?: string | null }): Locale {
  const fromUiLocales = bestOf(uiLocales?.split(/\s+/).filter(Boolean) ?? []);
  if (fromUiLocales) return fromUiLocales;
  if (isLocale(saved)) return saved;
  return bestOf(acceptedLanguages(acceptLanguage ?? '')) ?? defaultLocale;
}

/** Accept-Language's tags, most wanted first ("de-CH, fr;q=0.8, *;q=0.1" → de-CH, fr). */
export function acceptedLanguages(header: string): string[] {
  return header
    .split(',')
    .map((part, index) => {
      const [tag = '', ...params] = part.trim().split(';');
      const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
      return { tag: tag.trim(), q: q ? Number(q.slice(2)) : 1, index };
    })
    .filter((entry) => entry.tag && entry.tag !== '*' && Number.isFinite(entry.q) && entry.q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index)
    .map((entry) => entry.tag);
}

function bestOf(requested: string[]): Locale | undefined {
  const valid = requested.filter((tag) => {
    try {
      return Boolean(new Intl.Locale(tag));
    } catch {
      return false;
    }
  });
  if (!valid.length) return undefined;
  // 'und' (undetermined) is what match answers when nothing fits: none of ours.
  const found = match(valid, locales as unknown as string[], 'und', { algorithm: 'best fit' });
  return isLocale(found) ? found : undefined;
}

const timeZones = new Set(Intl.supportedValuesOf('timeZone'));
timeZones.add('UTC');

/**
 * Whether Intl knows the IANA zone (what a browser's resolvedOptions().timeZone names). ICU lists
 * only canonical names (Asia/Calcutta), while browsers say Asia/Kolkata: any name Intl accepts
 * counts, but only names (Area/City), never offsets such as +05:30.
 */
export function isTimeZone(value: unknown): value is string {
  if (typeof value !== 'string' || value.length > 64) return false;
  if (timeZones.has(value)) return true;
  if (!/^[A-Za-z]+(?:\/[A-Za-z0-9_+-]+)+$/.test(value)) return false;
  try {
    new Intl.DateTimeFormat('en', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

/** Every zone the picker offers, with the person's own among them when ICU lists it under another name. */
export const allTimeZones = (current?: string | null): string[] => [...new Set([...timeZones, ...(current && isTimeZone(current) ? [current] : [])])].sort();

const dateTimeFormats = new Map<string, Intl.DateTimeFormat>();

const clockFormats = new Map<string, Intl.DateTimeFormat>();

/** The time of day only, in the person's language and zone, with the zone named ("12:37 GMT+5:30"). */
export function formatClock(value: Date | string | number, locale: Locale, timeZone = 'UTC'): string {
  const cacheKey = `${locale}\u0000${timeZone}`;
  let format = clockFormats.get(cacheKey);
  if (!format) {
    format = new Intl.DateTimeFormat(locale, { hour: 'numeric', minute: '2-digit', timeZone, timeZoneName: 'short' });
    clockFormats.set(cacheKey, format);
  }
  return format.format(new Date(value));
}

/** A date and time in the person's language and zone, with the zone named ("6 Dec 2026, 12:37 GMT+5:30"). */
export function formatDateTime(value: Date | string | number, locale: Locale, timeZone = 'UTC'): string {
  const cacheKey = `${locale}\u0000${timeZone}`;
  let format = dateTimeFormats.get(cacheKey);
  if (!format) {
    format = new Intl.DateTimeFormat(locale, { year: 'numeric', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit', timeZone, timeZoneName: 'short' });
    dateTimeFormats.set(cacheKey, format);
  }
  return format.format(new Date(value));
}

const relativeUnits: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 24 * 3600],
  ['month', 30 * 24 * 3600],
  ['week', 7 * 24 * 3600],
  ['day', 24 * 3600],
  ['hour', 3600],
  ['minute', 60],
  ['second', 1],
];

/** How long ago (or how soon) in words: "5 minutes ago", "vor 5 Minuten", "il y a 5 minutes", "5 मिनट पहले". */
export function formatRelative(value: Date | string | number, locale: Locale, now: Date = new Date()): string {
  const seconds = Math.round((new Date(value).getTime() - now.getTime()) / 1000);
  const format = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' });
  if (Math.abs(seconds) < 45) return format.format(0, 'second');
  for (const [unit, size] of relativeUnits) {
    if (Math.abs(seconds) >= size || unit === 'second') return format.format(Math.round(seconds / size), unit);
  }
  return format.format(seconds, 'second');
}

let shownIndex: Map<string, string> | undefined;

/** The catalogue's sections whose English text is written in the code (error messages, page titles, notices, other words). */
export const shownPrefixes = ['error.', 'title.', 'notice.', 'text.'] as const;

/**
 * A message the code below the pages wrote in English (AppError messages, form-field complaints):
 * its key (error.*, title.*, notice.*) is found by its English text, so the domains keep English as the source and
 * know nothing of languages. A message the catalogue lacks is shown as it came.
 */
export function translateShown(locale: Locale, english: string): string {
  if (locale === defaultLocale) return english;
  shownIndex ??= new Map(
    Object.entries(catalogues.get(defaultLocale)!)
      .filter(([key]) => shownPrefixes.some((prefix) => key.startsWith(prefix)))
      .map(([key, text]) => [text, key]),
  );
  const key = shownIndex.get(english);
  if (key) return t(locale, key);
  shownPatterns ??= [...shownIndex].flatMap(([text, patternKey]) => {
    const pattern = argumentPattern(text);
    return pattern ? [{ ...pattern, key: patternKey }] : [];
  });
  for (const { pattern, names, key: patternKey } of shownPatterns) {
    const found = pattern.exec(english);
    if (found) return t(locale, patternKey, Object.fromEntries(names.map((name, index) => [name, found[index + 1]])));
  }
  return english;
}

let shownPatterns: Array<{ pattern: RegExp; names: string[]; key: string }> | undefined;

/**
 * An English message with simple arguments ("Sign-in failed: {error}.") as a pattern that finds the
 * arguments' values in the text the code wrote (a template literal), so the message is
 * shown in the person's language with the same values. Messages with select or plural are not matched.
 */
export function argumentPattern(english: string): { pattern: RegExp; names: string[] } | undefined {
  if (!english.includes('{') || /\{\w+,/.test(english)) return undefined;
  const names: string[] = [];
  let source = '^';
  let last = 0;
  for (const found of english.matchAll(/\{(\w+)\}/g)) {
    source += escapeRegExp(english.slice(last, found.index)) + '(.+?)';
    names.push(found[1]!);
    last = found.index + found[0].length;
  }
  if (!names.length) return undefined;
  return { pattern: new RegExp(`${source}${escapeRegExp(english.slice(last))}$`, 's'), names };
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Every value of a field-errors object translated (see translateShown). */
export function translateFields(locale: Locale, fields: Record<string, string> | undefined): Record<string, string> | undefined {
  if (!fields) return fields;
  return Object.fromEntries(Object.entries(fields).map(([name, message]) => [name, translateShown(locale, message)]));
}
