import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { projectRoot } from '../../src/platform/views.ts';
import { cliWorld, runJson } from '../helpers/cli.ts';
import { freePort } from '../helpers/processes.ts';

test('starting on a port another program holds says so in one line and exits 78, with no stack trace', async (t) => {
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  t.teardown(() => holder.close());
  const port = (holder.address() as AddressInfo).port;
  const env = { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: mkdtempSync(path.join(tmpdir(), 'uq-start-')), LOG_LEVEL: 'silent', NODE_ENV: 'development' };
  const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = execFile(process.execPath, ['src/main.ts'], { cwd: projectRoot, env, timeout: 60_000 }, (_error, _stdout, stderr) => resolve({ code: child.exitCode, stderr }));
  });
  t.is(code, 78);
  t.is(stderr.trim(), `Cannot listen on 127.0.0.1:${port}: another program (another hub?) is using that port. Stop it, or start with PORT=<another port>.`);
});

test('starting with another UNIQVERSE_SECRET than the database was set up with says so in one line and exits 78, with no stack trace', async (t) => {
  const world = await cliWorld(t);
  // Makes the signing keys, sealed with the world's secret.
  await runJson(t, world, ['keys', 'rotate']);
  const port = await freePort();
  const env = { ...world.env, PATH: process.env.PATH ?? '', PORT: String(port), HOST: '127.0.0.1', UNIQVERSE_SECRET: 'another-secret-another-secret-another-secret' };
  const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = execFile(process.execPath, ['src/main.ts'], { cwd: projectRoot, env, timeout: 60_000 }, (_error, _stdout, stderr) => resolve({ code: child.exitCode, stderr }));
  });
  t.is(code, 78);
  t.regex(stderr.trim(), /^UNIQVERSE_SECRET does not open the signing keys in this database \(key [\w-]+\): it is not the secret they were sealed with\. Start the hub with the UNIQVERSE_SECRET this database was set up with\.$/);
});
