import path from 'node:path';
import { fileURLToPath } from 'node:url';
import nunjucks from 'nunjucks';
import { defaultLocale, formatClock, formatDateTime, formatRelative, isLocale, t, translateShown, tHtml, type Locale, type MessageValues } from './i18n.ts';

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface Views {
  render(template: string, context?: Record<string, unknown>): string;
}

/** What each render is drawn in: `locale` and `timeZone` in the template's context (render.ts sets them). */
interface RenderContext {
  ctx: { locale?: unknown; timeZone?: unknown };
}

const localeOf = (context: RenderContext): Locale => (isLocale(context?.ctx?.locale) ? context.ctx.locale : defaultLocale);
const zoneOf = (context: RenderContext): string => (typeof context?.ctx?.timeZone === 'string' ? context.ctx.timeZone : 'UTC');

const escape = (text: string) => text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/**
 * The templates. `t(key, values)` is a global and `datetime` / `ago` are filters; each reads the
 * render's own `locale` and `timeZone`, so one environment serves every language at once.
 * Imported macro files have no render context: they take their words from the caller.
 */
export function createViews({ watch = false, globals = {} }: { watch?: boolean; globals?: Record<string, unknown> } = {}): Views {
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(path.join(projectRoot, 'views'), { watch, noCache: watch }), {
    autoescape: true,
    throwOnUndefined: false,
  });
  for (const [name, value] of Object.entries(globals)) env.addGlobal(name, value);
  env.addGlobal('t', function (this: RenderContext, key: string, values?: MessageValues) {
    return t(localeOf(this), key, values);
  });
  env.addGlobal('th', function (this: RenderContext, key: string, values?: MessageValues) {
    return new nunjucks.runtime.SafeString(tHtml(localeOf(this), key, values));
  });
  // A message made elsewhere in English (an error, a form field's complaint): in the page's language when the catalogue has it.
  env.addFilter('shown', function (this: RenderContext, message: unknown) {
    return typeof message === 'string' ? translateShown(localeOf(this), message) : message;
  });
  // A device described from its user agent ("Chrome on Windows"): the "on" in the page's language.
  env.addFilter('deviceName', function (this: RenderContext, device: { name?: string; browser?: string; place?: string } | null | undefined) {
    if (device?.browser && device.place) return t(localeOf(this), 'device.browserOn', { browser: device.browser, place: device.place });
    return device?.name ?? '';
  });
  env.addFilter('datetime', function (this: RenderContext, value: unknown) {
    if (!value) return '';
    const at = new Date(value as string);
    return new nunjucks.runtime.SafeString(`<time datetime="${at.toISOString()}">${escape(formatDateTime(at, localeOf(this), zoneOf(this)))}</time>`);
  });
  env.addFilter('clock', function (this: RenderContext, value: unknown) {
    if (!value) return '';
    const at = new Date(value as string);
    return new nunjucks.runtime.SafeString(`<time datetime="${at.toISOString()}" title="${escape(formatDateTime(at, localeOf(this), zoneOf(this)))}">${escape(formatClock(at, localeOf(this), zoneOf(this)))}</time>`);
  });
  env.addFilter('ago', function (this: RenderContext, value: unknown) {
    if (!value) return '';
    const at = new Date(value as string);
    const exact = formatDateTime(at, localeOf(this), zoneOf(this));
    return new nunjucks.runtime.SafeString(`<time datetime="${at.toISOString()}" title="${escape(exact)}">${escape(formatRelative(at, localeOf(this)))}</time>`);
  });
  return { render: (template, context = {}) => env.render(template, context) };
}
