/**
 * Database and Redis servers of a fault test's own, on free ports in a temp dir, which the test
 * may stop and start as it likes: the shared servers other tests use are never touched.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import { freePort } from '../helpers/processes.ts';


function postgresBin(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const version = readdirSync(root).sort().at(-1);
  const bin = version ? path.join(root, version, 'bin') : null;
  return bin && existsSync(path.join(bin, 'pg_ctl')) ? bin : null;
}

function postgresUid(): { uid: number; gid: number } | null {
  const id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (id.status !== 0 || gid.status !== 0) return null;
  return { uid: Number(id.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** Why this machine cannot run a private PostgreSQL, or null when it can. */
export function cannotRunPostgres(): string | null {
  if (!postgresBin()) return 'no PostgreSQL server binaries under /usr/lib/postgresql';
  const uid = process.getuid?.();
  const owner = postgresUid();
  if (uid === 0 && !owner) return 'running as root and there is no "postgres" OS user to run the server as';
  if (uid !== 0 && owner && uid !== owner.uid) return 'neither root nor the postgres OS user: cannot start a PostgreSQL of the test\'s own';
  return null;
}

export interface OwnPostgres {
  url: string;
  /** pg_ctl stop -m immediate: the server goes away as in a crash (no checkpoint, connections cut). */
  crash(): void;
  start(): void;
  /** SIGSTOP / SIGCONT to every process of the server: it hangs (a stalled disk, a frozen VM) without closing a connection. */
  freeze(): void;
  thaw(): void;
}

/** initdb into a temp dir and pg_ctl start on a free port; stopped and removed when the test ends. */
export async function ownPostgres(t: ExecutionContext): Promise<OwnPostgres> {
  const bin = postgresBin()!;
  const dir = mkdtempSync(path.join(tmpdir(), 'uq-fault-pg-'));
  const data = path.join(dir, 'data');
  const port = await freePort();
  const owner = process.getuid?.() === 0 ? postgresUid() : null;
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const run = (tool: string, args: string[]) => {
    const command = owner ? 'runuser' : path.join(bin, tool);
    const full = owner ? ['-u', 'postgres', '--', path.join(bin, tool), ...args] : args;
    const result = spawnSync(command, full, { encoding: 'utf8', timeout: 60_000 });
    if (result.status !== 0) throw new Error(`${tool} ${args.join(' ')} failed: ${result.stderr || result.stdout}`);
  };
  let running = false;
  const start = () => {
    run('pg_ctl', ['start', '-w', '-t', '30', '-D', data, '-l', path.join(dir, 'log'), '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50`]);
    running = true;
  };
  const crash = () => {
    run('pg_ctl', ['stop', '-w', '-m', 'immediate', '-D', data]);
    running = false;
  };
  const signalAll = (signal: 'STOP' | 'CONT') => {
    const postmaster = readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]!.trim();
    const pids = [postmaster, ...spawnSync('pgrep', ['-P', postmaster], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean)];
    spawnSync('kill', [`-${signal}`, ...pids]);
  };
  let frozen = false;
  const cleanUp = () => {
    if (frozen) signalAll('CONT');
    if (running) {
      try {
        crash();
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  // Also when the worker exits without running teardowns (ava's timeout): no server outlives the test.
  process.once('exit', cleanUp);
  t.teardown(() => {
    process.off('exit', cleanUp);
    cleanUp();
  });
  run('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8']);
  start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    crash,
    start,
    freeze: () => {
      signalAll('STOP');
      frozen = true;
    },
    thaw: () => {
      signalAll('CONT');
      frozen = false;
    },
  };
}

export interface OwnRedis {
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** SIGSTOP / SIGCONT: the server hangs with its connections open. */
  freeze(): void;
  thaw(): void;
}

/** A redis-server of the test's own on a free port, with nothing persisted; stopped when the test ends. */
export async function ownRedis(t: ExecutionContext): Promise<OwnRedis> {
  const port = await freePort();
  let child: ChildProcess | null = null;
  const start = async () => {
    const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    child = server;
    // Ready once it accepts a connection.
    for (let i = 0; ; i++) {
      const ok = await new Promise<boolean>((resolve) => {
        const socket = net.connect(port, '127.0.0.1', () => {
          socket.destroy();
          resolve(true);
        });
        socket.on('error', () => resolve(false));
      });
      if (ok) return;
      if (i > 100 || server.exitCode !== null) throw new Error('redis-server did not start');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const signal = (name: 'SIGSTOP' | 'SIGCONT') => {
    (child as ChildProcess | null)?.kill(name);
  };
  const stop = async () => {
    const server = child;
    child = null;
    if (!server || server.exitCode !== null) return;
    server.kill('SIGCONT');
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGKILL');
    await exited;
  };
  const orphanGuard = () => {
    (child as ChildProcess | null)?.kill('SIGKILL');
  };
  // Also when the worker exits without running teardowns (ava's timeout): no server outlives the test.
  process.once('exit', orphanGuard);
  t.teardown(async () => {
    process.off('exit', orphanGuard);
    await stop();
  });
  await start();
  return { url: `redis://127.0.0.1:${port}`, stop, start, freeze: () => signal('SIGSTOP'), thaw: () => signal('SIGCONT') };
}
