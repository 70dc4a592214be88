/**
 * `uniqverse start --workers N` under load: the client-credentials token endpoint served by one
 * hub process and by two on the same port, in alternating turns, each started and stopped as a
 * person runs it (the CLI, on PostgreSQL and Redis). autocannon, Postgres and Redis share the
 * machine's cores with the hub, so on a small machine the ratio says as much about them as about
 * the hub.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { hubNodeFlags } from '../src/app/node-flags.ts';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchDatabase } from './backends.ts';
import { combineTurns, measureLoad, type Measurement } from './load.ts';

const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));

export interface WorkersResult {
  one: Measurement;
  two: Measurement;
  ratio: number;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function runCli(env: Record<string, string>, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [cli, ...args, '--json'], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 120_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`uniqverse ${args.join(' ')}: ${stderr || error.message}`)) : resolve(stdout),
    );
  });
}

/** Starts `uniqverse start --workers n` and resolves, once it serves, with a function that stops it. */
async function startHub(env: Record<string, string>, workers: number): Promise<() => Promise<void>> {
  const child = spawn(process.execPath, [...hubNodeFlags, cli, 'start', '--workers', String(workers)], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 60_000;
  while (!output.includes('UniQVerse is running at')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`uniqverse start --workers ${workers} did not start: ${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return async () => {
    child.kill('SIGTERM');
    await exited;
  };
}

export async function compareWorkers(options: { adminDatabaseUrl: string; redisUrl: string; redisPrefix: string; duration: number; turns: number; warmup: number; connections: number }): Promise<WorkersResult> {
  const database = await benchDatabase(null, options.adminDatabaseUrl);
  const dataDir = mkdtempSync(path.join(tmpdir(), 'uq-bench-workers-'));
  try {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env = {
      DATABASE_URL: database.url,
      REDIS_URL: options.redisUrl,
      REDIS_PREFIX: options.redisPrefix,
      DATA_DIR: dataDir,
      UNIQVERSE_SECRET: randomBytes(32).toString('base64url'),
      PORT: String(port),
      HOST: '127.0.0.1',
      ISSUER: url,
      LOG_LEVEL: 'silent',
    };
    await runCli(env, ['migrate']);
    await runCli(env, ['services', 'create', '--slug', 'benchworkers', '--name', 'Bench workers']);
    // Every request is counted, none refused by the per-client limit.
    await runCli(env, ['services', 'limits', '--slug', 'benchworkers', '--token', '1000000']);
    const client = JSON.parse(await runCli(env, ['clients', 'create', '--service', 'benchworkers', '--type', 'web', '--redirect-uri', 'http://127.0.0.1:9/cb'])) as { client_id: string; client_secret: string };
    const load = {
      url: `${url}/token`,
      method: 'POST' as const,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource: 'urn:veze:service:benchworkers' }).toString(),
      connections: options.connections,
    };
    const turns: Record<1 | 2, Measurement[]> = { 1: [], 2: [] };
    for (let turn = 0; turn < options.turns; turn++) {
      for (const workers of [1, 2] as const) {
        const stop = await startHub(env, workers);
        try {
          if (options.warmup) await measureLoad({ ...load, duration: options.warmup });
          turns[workers].push(await measureLoad({ ...load, duration: options.duration / options.turns }));
        } finally {
          await stop();
        }
      }
    }
    const one = combineTurns(turns[1]);
    const two = combineTurns(turns[2]);
    return { one, two, ratio: two.rps / (one.rps || 1) };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
    await database.release();
  }
}
