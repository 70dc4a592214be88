/**
 * CPU time spent by the server under test (and by its Postgres backends) during one case, read
 * from /proc: on a shared machine requests per second move with the neighbours' load, while
 * CPU milliseconds per request mostly do not. Linux only; elsewhere the columns stay empty.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import knexFactory, { type Knex } from 'knex';

let ticksPerSecond: number | null = null;
function clockTicks(): number {
  if (ticksPerSecond === null) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** A process's or thread's name and user + system CPU so far, in ms, from a /proc `stat` file; null when it cannot be read. */
function readStat(path: string): { name: string; cpuMs: number } | null {
  let stat: string;
  try {
    stat = readFileSync(path, 'utf8');
  } catch {
    return null;
  }
  // Fields after the command name (which may hold spaces) start at field 3; utime and stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), cpuMs: ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks() };
}

/** User + system CPU of one process so far, in ms; null when it cannot be read. */
export function processCpuMs(pid: number): number | null {
  return readStat(`/proc/${pid}/stat`)?.cpuMs ?? null;
}

/** The Postgres backends serving one database, to add their CPU to the hub's. */
export class DatabaseBackends {
  private readonly db: Knex;

  constructor(url: string) {
    this.db = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 1 } });
  }

  async cpuMs(): Promise<Map<number, number>> {
    const { rows } = await this.db.raw('select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()');
    const out = new Map<number, number>();
    for (const { pid } of rows as Array<{ pid: number }>) {
      const ms = processCpuMs(pid);
      if (ms !== null) out.set(pid, ms);
    }
    return out;
  }

  close(): Promise<void> {
    return this.db.destroy();
  }
}

/** CPU used between two readings of a set of processes; processes born in between count from zero. */
export function cpuBetween(before: Map<number, number>, after: Map<number, number>): number {
  let ms = 0;
  for (const [pid, now] of after) ms += now - (before.get(pid) ?? 0);
  return ms;
}

/** Starts a reading of one server process (and its database backends); `stop` gives CPU ms used since. */
export async function startCpuReading(pid: number, backends: DatabaseBackends | null) {
  const server = processCpuMs(pid);
  const database = backends ? await backends.cpuMs() : null;
  return async () => {
    const serverAfter = processCpuMs(pid);
    const databaseAfter = backends ? await backends.cpuMs() : null;
    return {
      serverMs: server !== null && serverAfter !== null ? serverAfter - server : null,
      databaseMs: database && databaseAfter ? cpuBetween(database, databaseAfter) : null,
    };
  };
}

/** A process's CPU so far by kind of thread, in ms: its main (JavaScript) thread, libuv's thread pool, and the rest (V8's helpers). */
export interface ThreadCpu {
  main: number;
  pool: number;
  other: number;
}

/** Linux names libuv's pool threads `libuv-worker`; the main thread's id is the process id. */
export function threadCpuMs(pid: number): ThreadCpu | null {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return null;
  }
  const out: ThreadCpu = { main: 0, pool: 0, other: 0 };
  for (const tid of tids) {
    const thread = readStat(`/proc/${pid}/task/${tid}/stat`);
    if (!thread) continue; // it ended between the listing and the read
    if (Number(tid) === pid) out.main += thread.cpuMs;
    else if (thread.name.startsWith('libuv-worker')) out.pool += thread.cpuMs;
    else out.other += thread.cpuMs;
  }
  return out;
}
