import path from 'node:path';
import { fileURLToPath } from 'node:url';
import nunjucks from 'nunjucks';

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface Views {
  render(template: string, context?: Record<string, unknown>): string;
}

export function createViews({ watch = false, globals = {} }: { watch?: boolean; globals?: Record<string, unknown> } = {}): Views {
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(path.join(projectRoot, 'views'), { watch, noCache: watch }), {
    autoescape: true,
    throwOnUndefined: false,
  });
  for (const [name, value] of Object.entries(globals)) env.addGlobal(name, value);
  env.addFilter('datetime', (value: unknown) => (value ? new Date(value as string).toISOString().replace('T', ' ').slice(0, 16) + ' UTC' : ''));
  return { render: (template, context = {}) => env.render(template, context) };
}
