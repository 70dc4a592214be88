import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import { layers, layersPlugin } from '../../eslint/layers.js';

const projectRoot = path.resolve(import.meta.dirname, '../..');
const srcRoot = path.join(projectRoot, 'src');

/** The folders of src/ as the layers name them: top-level folders, web/'s folders, and the entry files. */
function foldersThatExist(): string[] {
  const found: string[] = [];
  for (const name of readdirSync(srcRoot)) {
    const full = path.join(srcRoot, name);
    if (!statSync(full).isDirectory()) found.push(name);
    else if (name === 'web') for (const inner of readdirSync(full)) found.push(`web/${inner}`);
    else found.push(name);
  }
  return found.sort();
}

/** The folders docs/architecture.md's first table under "## Layers" names (`src/…` in its second column). */
function foldersInTheDocs(): string[] {
  const doc = readFileSync(path.join(projectRoot, 'docs/architecture.md'), 'utf8');
  const start = doc.indexOf('## Layers');
  const section = doc.slice(start, doc.indexOf('\n#', start + 1));
  const rows = section.split('\n').filter((line) => line.startsWith('|') && !line.startsWith('| ---') && !line.startsWith('| layer'));
  return rows.flatMap((row) => [...(row.split('|')[2] ?? '').matchAll(/`src\/([^`]+)`/g)].map((m) => m[1]!)).sort();
}

test('the layers, the folders of src/ and docs/architecture.md name the same folders', (t) => {
  const inTheRule = layers.flatMap((layer) => layer.folders).sort();
  t.deepEqual(foldersThatExist(), inTheRule, 'a folder of src/ is missing from eslint/layers.js, or the other way round');
  t.deepEqual(foldersInTheDocs(), inTheRule, "docs/architecture.md's layer table and eslint/layers.js disagree");
});

function lint(file: string, code: string): string[] {
  const linter = new Linter({ configType: 'flat' });
  const config = [{
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser as Linter.Parser },
    plugins: { layers: layersPlugin as never },
    rules: { 'layers/imports-point-down': ['error', { srcRoot }] },
  }] as Linter.Config[];
  return linter.verify(code, config, { filename: path.join(srcRoot, file) }).map((m) => m.message);
}

test('the lint rule refuses an import that points up or sideways, type imports too, and allows one that points down', (t) => {
  t.deepEqual(lint('queries/users.ts', "import { db } from '../db/database.ts';"), []);
  t.deepEqual(lint('web/portal/x.ts', "import { render } from '../http/render.ts';\nimport { x } from './y.ts';"), []);
  t.regex(lint('queries/users.ts', "import { render } from '../web/http/render.ts';")[0] ?? '', /may not import src\/web\/http/);
  t.regex(lint('identity/users.ts', "import type { AppContext } from '../web/http/app-context.ts';")[0] ?? '', /a layer above it/);
  t.regex(lint('web/live/x.ts', "import { callers } from '../api/callers.ts';")[0] ?? '', /side by side/);
  t.regex(lint('catalog/x.ts', "export { y } from '../oidc/provider.ts';")[0] ?? '', /a layer above it/);
  t.regex(lint('sessions/x.ts', "const m = await import('../web/http/render.ts');")[0] ?? '', /a layer above it/);
  t.regex(lint('nowhere/x.ts', "import { x } from '../platform/errors.ts';")[0] ?? '', /in no layer/);
});
