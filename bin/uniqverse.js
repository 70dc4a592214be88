#!/usr/bin/env -S node --max-semi-space-size=4 --experimental-async-context-frame
// The `uniqverse` command. The CLI is TypeScript run by Node 22's type stripping. `npx uniqverse`
// and `npm run` put node_modules/.bin first on PATH, where the pinned Node 22 lives, so `env node`
// finds it; run any other way (./bin/uniqverse.js with an older node first on PATH), we re-run
// ourselves with the pinned binary instead of failing on the .ts import. The flag on the first line
// is the hub's V8 setting (src/app/node-flags.ts), given to every command alike.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const major = Number(process.versions.node.split('.')[0]);

if (major >= 22) {
  await import('../src/cli.ts');
} else {
  const pinned = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url));
  if (!existsSync(pinned)) {
    console.error(`uniqverse: needs Node 22 (this is ${process.version}); run \`npm ci\` in the project to install the pinned one, then use \`npx uniqverse\`.`);
    process.exit(1);
  }
  const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
  const result = spawnSync(pinned, [...process.execArgv, cli, ...process.argv.slice(2)], { stdio: 'inherit' });
  if (result.error) {
    console.error(`uniqverse: cannot run ${pinned}: ${result.error.message}`);
    process.exit(1);
  }
  process.exit(result.status ?? 1);
}
