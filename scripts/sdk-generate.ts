/**
 * `npm run sdk:generate`: the TypeScript SDK's typed client (sdk/typescript/src/generated/) from
 * docs/openapi.yaml, by openapi-typescript (pinned in devDependencies). Given a folder, writes there
 * instead: test/sdk/generated.test.ts regenerates into a temporary one and fails on any difference.
 * --empty-objects-unknown: an object schema that names no properties (an event's `data`) takes any,
 * as JSON Schema says, rather than none.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const generatedDir = path.join(root, 'sdk/typescript/src/generated');

const outDir = path.resolve(process.argv[2] ?? generatedDir);
mkdirSync(outDir, { recursive: true });
const cli = path.join(root, 'node_modules/openapi-typescript/bin/cli.js');
const run = spawnSync(process.execPath, [cli, path.join(root, 'docs/openapi.yaml'), '--empty-objects-unknown', '--output', path.join(outDir, 'schema.ts')], { stdio: 'inherit', cwd: root });
process.exit(run.status ?? 1);
