import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';

const generatedDir = 'sdk/typescript/src/generated';

test('the checked-in SDK client is what npm run sdk:generate makes of docs/openapi.yaml (no drift)', (t) => {
  const fresh = mkdtempSync(path.join(tmpdir(), 'uq-sdk-'));
  t.teardown(() => rmSync(fresh, { recursive: true, force: true }));
  const run = spawnSync(process.execPath, ['scripts/sdk-generate.ts', fresh], { encoding: 'utf8' });
  t.is(run.status, 0, run.stderr);
  const files = readdirSync(fresh).sort();
  t.deepEqual(readdirSync(generatedDir).sort(), files, 'the same files');
  t.true(files.includes('schema.ts'));
  for (const file of files) {
    const message = `${generatedDir}/${file} differs from what the generator makes of docs/openapi.yaml: run npm run sdk:generate and commit the result`;
    t.is(readFileSync(path.join(generatedDir, file), 'utf8'), readFileSync(path.join(fresh, file), 'utf8'), message);
  }
});
