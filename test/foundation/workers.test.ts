import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { hubNodeFlags, missingHubNodeFlags, withHubNodeFlags } from '../../src/app/node-flags.ts';
import { processCount } from '../../src/app/serve.ts';
import { projectRoot } from '../../src/platform/views.ts';
import { realBackends, testRedisPrefix, testRedisUrl } from '../helpers/backend.ts';
import { cliWorld, runJson, type CliWorld } from '../helpers/cli.ts';
import { freePort } from '../helpers/processes.ts';

const postgres = { kind: 'postgres', url: 'postgres://db/hub' } as const;

test('WORKERS runs that many processes only where they can share the database and Redis, and says why not otherwise', (t) => {
  t.deepEqual(processCount({ workers: 1, database: postgres, redisUrl: 'redis://r' }), { count: 1, reason: null });
  t.deepEqual(processCount({ workers: 3, database: postgres, redisUrl: 'redis://r' }), { count: 3, reason: null });
  const embedded = processCount({ workers: 2, database: { kind: 'pglite', dir: '/data/pglite' }, redisUrl: 'redis://r' });
  t.is(embedded.count, 1);
  t.regex(embedded.reason!, /^WORKERS=2: the embedded database lives in one process, so the hub runs as one; set DATABASE_URL and REDIS_URL/);
  const noRedis = processCount({ workers: 4, database: postgres, redisUrl: null });
  t.is(noRedis.count, 1);
  t.regex(noRedis.reason!, /without REDIS_URL/);
  const auto = processCount({ workers: 'auto', database: postgres, redisUrl: 'redis://r' });
  t.true(auto.count >= 1);
});

interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** `uniqverse start` as a person runs it, until its banner is printed. */
async function startCommand(t: ExecutionContext, world: CliWorld, args: string[], env: Record<string, string>, command = [process.execPath, path.join(projectRoot, 'src/cli.ts')]): Promise<Running> {
  const child = spawn(command[0]!, [...command.slice(1), 'start', ...args], {
    cwd: projectRoot,
    env: { PATH: process.env.PATH ?? '', ...world.env, HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env },
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const deadline = Date.now() + 90_000;
  while (!/UniQVerse is running at/.test(output)) {
    if (child.exitCode !== null) t.fail(`uniqverse start exited ${child.exitCode}: ${output}`);
    if (Date.now() > deadline) t.fail(`uniqverse start did not start in 90 s: ${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { child, output: () => output, exited };
}

/** A request on a connection of its own, so node:cluster may hand it to any process. */
function fresh(url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: init.method ?? 'GET', headers: { ...init.headers, connection: 'close' }, agent: false }, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode!, text }));
    });
    request.on('error', reject);
    request.end(init.body);
  });
}

// ps exits 1 when the process has no children.
const childPids = (pid: number) =>
  spawnSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((line) => Number(line.trim()))
    .filter(Boolean);

const commandLine = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');

test('the hub\'s V8 settings: which of them a process lacks, and a command line with them added', (t) => {
  const contextFrame = '--experimental-async-context-frame';
  t.deepEqual(missingHubNodeFlags([], ''), ['--max-semi-space-size=4', contextFrame]);
  t.deepEqual(missingHubNodeFlags(['--max-semi-space-size=4', contextFrame], ''), []);
  t.deepEqual(missingHubNodeFlags(['--max_semi_space_size=8', contextFrame], ''), [], 'a value of one\'s own, in V8\'s other spelling');
  t.deepEqual(missingHubNodeFlags(['--inspect'], `--max-old-space-size=512 --max-semi-space-size=8 ${contextFrame}`), []);
  t.deepEqual(missingHubNodeFlags(['--no-experimental-async-context-frame'], ''), ['--max-semi-space-size=4'], 'turned off on purpose');
  t.deepEqual(withHubNodeFlags(['--inspect']), ['--max-semi-space-size=4', contextFrame, '--inspect']);
  t.deepEqual(withHubNodeFlags(['--max-semi-space-size=8']), [contextFrame, '--max-semi-space-size=8']);
});

test('`uniqverse start` run as a command (its first line) starts node with the hub\'s V8 settings', async (t) => {
  if (realBackends) return t.pass('the embedded back end only');
  const world = await cliWorld(t);
  const port = await freePort();
  const running = await startCommand(t, world, [], { PORT: String(port) }, [path.join(projectRoot, 'bin/uniqverse.js')]);
  t.notRegex(running.output(), /started without/);
  for (const flag of hubNodeFlags) t.true(commandLine(running.child.pid!).includes(flag), flag);
  running.child.kill('SIGTERM');
  t.is(await running.exited, 0);
});

test('with the embedded database, `start --workers 2` runs one process and says why', async (t) => {
  if (realBackends) return t.pass('the embedded back end only');
  const world = await cliWorld(t);
  const port = await freePort();
  const running = await startCommand(t, world, ['--workers', '2'], { PORT: String(port) });
  t.regex(running.output(), /WORKERS=2: the embedded database lives in one process, so the hub runs as one/);
  t.regex(running.output(), /node was started without --max-semi-space-size=4 --experimental-async-context-frame \(npm start and uniqverse start pass them\)/);
  t.notRegex(running.output(), /\(2 processes\)/);
  t.deepEqual(childPids(running.child.pid!), []);
  t.is((await fresh(`http://127.0.0.1:${port}/readyz`)).status, 200);
  running.child.kill('SIGTERM');
  t.is(await running.exited, 0);
});

test('`start --workers 2` on PostgreSQL and Redis: two processes on one port that agree on a revoked token, sum their metrics, replace one that dies and all stop on SIGTERM', async (t) => {
  if (!realBackends || !testRedisUrl) return t.pass('needs TEST_DATABASE_URL and TEST_REDIS_URL');
  t.timeout(180_000);
  const world = await cliWorld(t);
  await runJson(t, world, ['services', 'create', '--slug', 'vezepyworkers', '--name', 'Workers', '--url', 'http://localhost:8010']);
  const client = await runJson<{ client_id: string; client_secret: string }>(t, world, ['clients', 'create', '--service', 'vezepyworkers', '--type', 'web', '--redirect-uri', 'http://localhost:8010/callback']);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const running = await startCommand(t, world, ['--workers', '2'], { PORT: String(port), ISSUER: url, REDIS_URL: testRedisUrl, REDIS_PREFIX: testRedisPrefix(), METRICS_TOKEN: 'a-metrics-token-for-the-test' });
  t.regex(running.output(), /running at .* \(2 processes\)/);
  const workers = childPids(running.child.pid!);
  t.is(workers.length, 2);
  for (const pid of workers) t.deepEqual(hubNodeFlags.filter((flag) => !commandLine(pid).includes(flag)), [], 'each hub process has the hub\'s V8 settings, though the primary was started without them');

  const basic = { authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' };
  const issued = await fresh(`${url}/token`, { method: 'POST', headers: basic, body: 'grant_type=client_credentials' });
  t.is(issued.status, 200, issued.text);
  const token = (JSON.parse(issued.text) as { access_token: string }).access_token;
  const introspect = async () => JSON.parse((await fresh(`${url}/token/introspection`, { method: 'POST', headers: basic, body: `token=${token}` })).text) as { active: boolean };
  // Each process has looked the token up (and cached it) before one of them revokes it.
  for (let i = 0; i < 6; i++) t.true((await introspect()).active);
  t.is((await fresh(`${url}/token/revocation`, { method: 'POST', headers: basic, body: `token=${token}` })).status, 200);
  // The other process hears of the revocation through the database's change notices, as another machine would.
  const answers = [];
  for (let i = 0; i < 6; i++) answers.push((await introspect()).active);
  t.deepEqual(answers, [false, false, false, false, false, false]);

  const scrape = async () => (await fresh(`${url}/metrics`, { headers: { authorization: 'Bearer a-metrics-token-for-the-test' } })).text;
  const introspections = (text: string) =>
    [...text.matchAll(/^uniqverse_http_request_duration_seconds_count\{route="\/token\/introspection"[^}]*\} (\d+)$/gm)].reduce((sum, match) => sum + Number(match[1]), 0);
  // Whichever process answers, /metrics counts the requests both served.
  t.is(introspections(await scrape()), 12);
  t.is(introspections(await scrape()), 12);

  process.kill(workers[0]!, 'SIGKILL');
  await new Promise((resolve) => setTimeout(resolve, 500));
  // The one left serves while the primary starts another.
  for (let i = 0; i < 6; i++) t.is((await fresh(`${url}/readyz`)).status, 200);
  const replaced = await new Promise<number[]>((resolve) => {
    const look = () => {
      const now = childPids(running.child.pid!);
      if (now.length === 2 && !now.includes(workers[0]!)) resolve(now);
      else setTimeout(look, 200);
    };
    look();
  });
  t.true(replaced.includes(workers[1]!));

  running.child.kill('SIGTERM');
  t.is(await running.exited, 0);
  for (const pid of replaced) t.throws(() => process.kill(pid, 0));
  await t.throwsAsync(fresh(`${url}/healthz`));
});
