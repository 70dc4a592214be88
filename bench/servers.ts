import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ChildMessage, Target } from './target.ts';
import { hubNodeFlags } from '../src/app/node-flags.ts';

export interface RunningServer {
  target: Target;
  pid: number;
  /** SQL statements the server has sent so far, in all and by text (the hub only; null for the bare provider). */
  queries(): Promise<{ count: number; statements: Record<string, number> } | null>;
  stop(): Promise<void>;
}

const entries = {
  ours: fileURLToPath(new URL('./hub-server.ts', import.meta.url)),
  bare: fileURLToPath(new URL('./bare-server.ts', import.meta.url)),
};

/**
 * Each server runs in a child process of its own, so the load generator (this process) and the
 * server under test each get a core. Its stderr is kept and shown only if it fails to start.
 */
export function startServer(kind: keyof typeof entries, env: Record<string, string>, profileDir: string | null = null, timeoutMs = 60_000): Promise<RunningServer> {
  const child: ChildProcess = fork(entries[kind], [], {
    env: { ...process.env, ...env },
    // The hub runs with the V8 settings it starts with everywhere (the bare provider with Node's defaults).
    execArgv: [...(kind === 'ours' ? hubNodeFlags : []), ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${kind}.cpuprofile`] : [])],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const queries = () =>
    kind === 'bare'
      ? Promise.resolve(null)
      : new Promise<{ count: number; statements: Record<string, number> }>((resolve) => {
          const listener = (message: ChildMessage) => {
            if (message.type !== 'stats') return;
            child.off('message', listener);
            resolve({ count: message.queries, statements: message.statements });
          };
          child.on('message', listener);
          child.send('stats');
        });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.send('stop');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${kind} server did not start within ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    // 'close', not 'exit': by then stderr has been read to its end, so the reason is in it.
    child.once('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`${kind} server exited (${code}) before it was ready\n${stderr}`));
    });
    child.on('message', (message: ChildMessage) => {
      clearTimeout(timer);
      if (message.type === 'ready') resolve({ target: message.target, pid: child.pid!, queries, stop });
      else if (message.type === 'failed') {
        child.kill('SIGKILL');
        reject(new Error(`${kind} server failed to start:\n${message.message}`));
      }
    });
  });
}
