import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { IntlMessageFormat } from 'intl-messageformat';
import { defaultLocale, locales, readCatalogue, shownPrefixes } from '../../src/platform/i18n.ts';
import { projectRoot } from '../../src/platform/views.ts';

const english = readCatalogue(defaultLocale);
const others = locales.filter((locale) => locale !== defaultLocale);

function filesUnder(folder: string, extensions: string[]): string[] {
  return readdirSync(folder).flatMap((name) => {
    const full = path.join(folder, name);
    if (statSync(full).isDirectory()) return filesUnder(full, extensions);
    return extensions.some((ext) => name.endsWith(ext)) ? [full] : [];
  });
}

const templates = filesUnder(path.join(projectRoot, 'views'), ['.njk']).map((file) => readFileSync(file, 'utf8')).join('\n');
const sources = [templates, ...filesUnder(path.join(projectRoot, 'src'), ['.ts']).map((file) => readFileSync(file, 'utf8'))].join('\n');

/**
 * Whether the code uses a key: named in quotes; or, for keys the code builds from a family's name,
 * the family named in quotes (checkup.<item>.text / .action) or the notice's name
 * (mail.notice.<notice>.subject / .what); or, for text the code writes in English (errors, titles,
 * notices), that English text as a string in the code.
 */
function isUsed(key: string): boolean {
  if (sources.includes(`'${key}'`)) return true;
  const family = key.slice(0, key.lastIndexOf('.'));
  if (key.startsWith('checkup.') && sources.includes(`'${family}'`)) return true;
  const notice = /^mail\.notice\.(\w+)\.(subject|what)$/.exec(key);
  if (notice && sources.includes(`notice: '${notice[1]}'`)) return true;
  if (shownPrefixes.some((prefix) => key.startsWith(prefix))) {
    const text = english[key]!;
    if (sources.includes(`'${text}'`) || sources.includes(`\`${text}\``) || sources.includes(`"${text}"`)) return true;
    // A message with arguments, written by the code as a template literal: \`Sign-in failed: ${error}.\`
    const literal = text.split(/\{\w+\}/).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('\\$\\{[^}]+\\}');
    return text.includes('{') && new RegExp(`\`${literal}\``).test(sources);
  }
  return false;
}

/** Keys whose English words are the language's own words too. */
const sameWords: Partial<Record<(typeof locales)[number], string[]>> = {
  de: ['title.system', 'admin.status', 'admin.services.clients', 'admin.system.version', 'admin.system.seconds', 'data.field.name', 'data.field.administrator', 'data.field.status', 'data.field.passkeys', 'data.field.os', 'data.field.data', 'data.field.details', 'common.name', 'common.code', 'device.confirm.codeLabel', 'home.passkeys', 'admin.nav.system'],
  fr: ['title.services', 'admin.user.sessions', 'admin.ent.actions', 'admin.users.admin', 'admin.services.service', 'admin.services.clients', 'admin.system.version', 'admin.system.migrations', 'admin.system.seconds', 'admin.audit.action', 'data.field.service', 'data.field.services', 'data.field.type', 'data.field.action', 'data.section.sessions', 'data.formatVersion', 'common.code', 'appPassword.form.service', 'device.confirm.codeLabel', 'portal.nav.services', 'portal.nav.sessions', 'portal.nav.notifications', 'title.notifications', 'title.sessions', 'home.sessionCount', 'activity.service', 'pager.pages', 'pager.page'],
};

for (const locale of others) {
  test(`the ${locale} catalogue has every English key and no other`, (t) => {
    const catalogue = readCatalogue(locale);
    t.deepEqual(Object.keys(english).filter((key) => !(key in catalogue)), [], 'missing');
    t.deepEqual(Object.keys(catalogue).filter((key) => !(key in english)), [], 'not in English');
  });

  test(`the ${locale} catalogue is translated, not English copied (brand names and codes aside)`, (t) => {
    const catalogue = readCatalogue(locale);
    // Strings with no words of their own (a brand, a code, placeholders, punctuation), and words
    // the language shares with English.
    const noWords = (text: string) => text.replace(/\{[^}]*\}|UniQVerse|VEZE|TOTP|[^\p{L}]/gu, '') === '';
    const copied = Object.keys(english).filter((key) => catalogue[key] === english[key] && !noWords(english[key]!) && !sameWords[locale]?.includes(key));
    t.deepEqual(copied, []);
  });
}

test('Hindi is written in Devanagari', (t) => {
  const hindi = readCatalogue('hi');
  const latinOnly = Object.entries(hindi).filter(([, text]) => !/[\u0900-\u097F]/.test(text) && /\p{L}{4,}/u.test(text.replace(/\{[^}]*\}|UniQVerse|VEZE/g, '')));
  t.deepEqual(latinOnly.map(([key]) => key), []);
});

test('every message compiles as ICU MessageFormat in every language, and formats with sample values', (t) => {
  for (const locale of locales) {
    for (const [key, text] of Object.entries(readCatalogue(locale))) {
      const message = new IntlMessageFormat(text, locale);
      const values: Record<string, unknown> = {};
      for (const name of (text.match(/\{(\w+)/g) ?? []).map((m) => m.slice(1))) values[name] = ['count', 'minutes', 'hours', 'remaining'].includes(name) ? 2 : 'x';
      for (const tag of ['strong', 'code', 'em', 'span', 'badge']) values[tag] = (chunks: unknown[]) => chunks.join('');
      t.notThrows(() => message.format(values as Record<string, string>), `${locale} ${key}`);
    }
  }
});

test('every key of the catalogue is used by a template or the code, and every key used is in the catalogue', (t) => {
  t.deepEqual(Object.keys(english).filter((key) => !isUsed(key)), [], 'unused keys');
  const named = [...templates.matchAll(/\bth?\('([\w.]+)'/g)].map((m) => m[1]!);
  t.deepEqual([...new Set(named.filter((key) => !(key in english)))], [], 'keys the templates name that English lacks');
});
