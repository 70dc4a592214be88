/**
 * `npm test`: the whole suite, on the embedded defaults (PGlite, in-process bus) and, when
 * TEST_DATABASE_URL / TEST_REDIS_URL are set, again on the real servers. Brings Debian's
 * Chromium and Prometheus (promtool) when they are missing and it may (root with apt-get),
 * otherwise says what to install.
 * Ends with one line: "N passed, N failed", summed over the back ends.
 *
 *   npm test                       both back ends when TEST_DATABASE_URL is set, else embedded
 *   npm test -- --backend real     one back end only (embedded | real | both)
 *   npm test -- test/oidc          only these files or folders
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

/** What the tests take from Debian: a program or module each, and the package that brings it. */
const debianNeeds = [
  { path: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', pkg: 'chromium', for: 'the browser tests' },
  { path: process.env.PROMTOOL_PATH ?? '/usr/bin/promtool', pkg: 'prometheus', for: 'the alert rule and scrape tests' },
  // The Python kit (sdk/python) and VEZEPySports use Debian's python3 with PyJWT and httpx alone
  // (and cryptography, which PyJWT needs for ES256 and only recommends).
  { path: '/usr/lib/python3/dist-packages/jwt/__init__.py', pkg: 'python3-jwt', for: 'the Python kit tests' },
  { path: '/usr/lib/python3/dist-packages/cryptography/__init__.py', pkg: 'python3-cryptography', for: 'the Python kit tests' },
  { path: '/usr/lib/python3/dist-packages/httpx/__init__.py', pkg: 'python3-httpx', for: 'the Python kit tests' },
];

function ensureDebianPackages(): void {
  const missing = debianNeeds.filter((need) => !existsSync(need.path));
  if (!missing.length) return;
  const packages = missing.map((need) => need.pkg);
  const canInstall = process.getuid?.() === 0 && spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
  if (!canInstall) {
    console.error(`Missing ${missing.map((need) => `${need.path} (${need.for})`).join(' and ')}: install Debian's ${packages.join(' ')} (sudo apt-get install -y ${packages.join(' ')}) and run npm test again.`);
    process.exit(1);
  }
  console.log(`Installing Debian's ${packages.join(' ')} for ${missing.map((need) => need.for).join(' and ')} (apt-get install -y ${packages.join(' ')})…`);
  const update = spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  const install = update.status === 0 ? spawnSync('apt-get', ['install', '-y', '-qq', ...packages], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }) : update;
  if (install.status !== 0 || missing.some((need) => !existsSync(need.path))) {
    console.error(`Could not install ${packages.join(' ')}: install them with "apt-get install -y ${packages.join(' ')}" and run npm test again.`);
    process.exit(1);
  }
}

interface RunResult {
  passed: number;
  failed: number;
  skipped: number;
}

function runAva(label: string, env: NodeJS.ProcessEnv, files: string[]): Promise<RunResult> {
  console.log(`\n=== ${label} ===`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['node_modules/ava/entrypoints/cli.mjs', ...files], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const take = (stream: NodeJS.WriteStream) => (chunk: Buffer) => {
      output += chunk.toString();
      stream.write(chunk);
    };
    child.stdout.on('data', take(process.stdout));
    child.stderr.on('data', take(process.stderr));
    child.on('close', (code) => {
      const count = (pattern: RegExp) => Number(pattern.exec(output)?.[1] ?? 0);
      // ava prints "N tests passed" only when nothing failed; count the ticks as well.
      const ticks = output.split('\n').filter((line) => /^\s*✔/.test(line)).length;
      const passed = Math.max(count(/(\d+) tests? passed/), ticks);
      let failed = count(/(\d+) tests? failed/) + count(/(\d+) known failures?/);
      const skipped = count(/(\d+) tests? skipped/) + count(/(\d+) tests? todo/);
      // A crash, timeout or uncaught exception fails the run even when no test is counted as failed.
      if (code !== 0 && failed === 0) failed = 1;
      if (passed === 0 && failed === 0) failed = 1;
      resolve({ passed, failed, skipped });
    });
  });
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { backend: { type: 'string' } },
});
const real = { database: process.env.TEST_DATABASE_URL, redis: process.env.TEST_REDIS_URL };
const backend = values.backend ?? (real.database ? 'both' : 'embedded');
if (!['embedded', 'real', 'both'].includes(backend)) {
  console.error('--backend must be embedded, real or both');
  process.exit(2);
}
if (backend !== 'embedded' && !real.database) {
  console.error('The real back end needs TEST_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/postgres) and TEST_REDIS_URL (e.g. redis://127.0.0.1:6379).');
  process.exit(2);
}

ensureDebianPackages();

const results: RunResult[] = [];
const base: NodeJS.ProcessEnv = { ...process.env };
delete base.TEST_DATABASE_URL;
delete base.TEST_REDIS_URL;
// Each test file is a process of its own that loads the hub's modules: V8's code cache on disk
// spares every file after the first some of that compiling (about 15% of the load here).
base.NODE_COMPILE_CACHE ??= path.join(tmpdir(), 'uniqverse-test-compile-cache');
// One back end after the other: the two at once took longer (1,445 s against 1,370 s for the whole
// of .ci/run on a 2-core machine), as one alone already keeps both cores busy.
if (backend !== 'real') results.push(await runAva('embedded: PGlite + in-process bus', base, positionals));
if (backend !== 'embedded') {
  const env: NodeJS.ProcessEnv = { ...base, TEST_DATABASE_URL: real.database };
  if (real.redis) env.TEST_REDIS_URL = real.redis;
  results.push(await runAva(`real: PostgreSQL${real.redis ? ' + Redis' : ''}`, env, positionals));
}
const total = results.reduce((sum, r) => ({ passed: sum.passed + r.passed, failed: sum.failed + r.failed, skipped: sum.skipped + r.skipped }), { passed: 0, failed: 0, skipped: 0 });
console.log(`\n${total.passed} passed, ${total.failed} failed${total.skipped ? `, ${total.skipped} skipped` : ''}`);
process.exit(total.failed ? 1 : 0);
