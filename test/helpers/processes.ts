import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import type { ExecutionContext } from 'ava';

/** Debian's python3, which has python3-jwt and python3-httpx (the Python kit's only dependencies). */
export const python = process.env.PYTHON ?? '/usr/bin/python3';

/** A port free on 127.0.0.1 now (for a process whose URL must be known before it starts). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface RunningProcess {
  child: ChildProcess;
  /** Everything it wrote so far (stdout and stderr). */
  output(): string;
}

/**
 * Starts a program as a real process, waits until `healthUrl` answers 200, and stops it when the
 * test ends. Its output is shown when the test fails.
 */
export async function startProcess(t: ExecutionContext, command: string, args: string[], env: Record<string, string>, healthUrl: string): Promise<RunningProcess> {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  t.teardown(async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    if (!t.passed) console.error(`--- output of ${command} ${args.join(' ')}:\n${output}`);
  });
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${command} ${args.join(' ')} exited with ${child.exitCode}: ${output}`);
    const healthy = await fetch(healthUrl).then((r) => r.status === 200, () => false);
    if (healthy) return { child, output: () => output };
    if (Date.now() > deadline) throw new Error(`${healthUrl} did not answer within 20 s: ${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
