import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { projectRoot } from '../../src/platform/views.ts';

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
