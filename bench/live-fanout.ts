/**
 * Live fan-out, change committed → SSE client, through the whole path (outbox, NOTIFY, relay,
 * Redis Stream, the hub's one reader, the live hub, the SSE response):
 *  - one person's event while `others` other people hold a connection each: p50/p99 at that
 *    person's connection (and no other connection may receive it);
 *  - a broadcast: one event that `broadcast` connections receive (one person's connections, the
 *    widest fan-out a single event has), p50/p99 over every delivery.
 * The hub runs in this process, the clients in a child process; on two or more cores each is
 * pinned to a core of its own (taskset). PostgreSQL and Redis are not pinned.
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { availableParallelism, loadavg } from 'node:os';
import path from 'node:path';
import * as jose from 'jose';
import { appendEvent } from '../src/outbox/outbox.ts';
import { loadKeySet } from '../src/oidc/signing-keys.ts';
import type { Hub } from '../src/app/start.ts';
import { startEventsHub } from './events-hub.ts';
import { hubNodeFlags, missingHubNodeFlags } from '../src/app/node-flags.ts';

export interface Latencies {
  deliveries: number;
  missed: number;
  /** Deliveries to connections that should not have received the event. */
  leaked: number;
  p50: number;
  p99: number;
  max: number;
  /** The five slowest, ms. */
  slowest: number[];
  /** CPU the hub's process spent per event (user + system, ms), the relay's share included: unlike the latencies, it does not move with the neighbours' load. */
  cpuMs: number;
}

export interface FanoutResult {
  others: number;
  broadcast: number;
  connected: { one: number; broadcast: number };
  failures: Record<string, number>;
  one: Latencies;
  wide: Latencies;
  placement: string;
  fdLimit: string;
  /** The machine's load average (1 minute) when the timed part began. */
  loadBefore: number;
}

export interface FanoutOptions {
  adminDatabaseUrl: string;
  redisUrl: string;
  redisPrefix: string;
  others: number;
  broadcast: number;
  oneTicks: number;
  broadcastTicks: number;
}

const log = (line: string) => process.stderr.write(`${line}\n`);
const percentile = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function pin(pid: number, cpus: string): boolean {
  try {
    execFileSync('taskset', ['-a', '-pc', cpus, String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** `count` people made in one insert per thousand (their password is never used), and a hub token each. */
async function peopleWithTokens(hub: Hub, count: number): Promise<{ ids: string[]; tokens: string[] }> {
  const ids = Array.from({ length: count }, () => randomUUID());
  for (let i = 0; i < count; i += 1000) {
    await hub.db('users').insert(ids.slice(i, i + 1000).map((id, j) => ({ id, email: `fanout-${i + j}@bench.example`, name: `Fan ${i + j}`, email_verified: true })));
  }
  const keys = await loadKeySet(hub.db, hub.secrets.keys);
  const jwk = keys.jwks.keys.find((k) => k.alg === 'ES256')!;
  const key = await jose.importJWK(jwk as jose.JWK, 'ES256');
  const tokens = [];
  for (const sub of ids) {
    tokens.push(
      await new jose.SignJWT({ client_id: 'bench', scope: 'hub' })
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: jwk.kid as string })
        .setIssuer(hub.url)
        .setAudience(`${hub.url}/hub`)
        .setSubject(sub)
        .setIssuedAt()
        .setExpirationTime('1h')
        .setJti(randomUUID())
        .sign(key),
    );
  }
  return { ids, tokens };
}

class Clients {
  private readonly child: ChildProcess;
  private readonly inbox: Array<{ kind: string; [key: string]: unknown }> = [];
  constructor(child: ChildProcess) {
    this.child = child;
    child.on('message', (m) => this.inbox.push(m as never));
  }
  async ask<T>(message: unknown, answer: string): Promise<T> {
    this.child.send(message as never);
    for (;;) {
      const index = this.inbox.findIndex((m) => m.kind === answer);
      if (index >= 0) return this.inbox.splice(index, 1)[0] as T;
      if (this.child.exitCode !== null) throw new Error(`the clients' process ended (${this.child.exitCode})`);
      await sleep(10);
    }
  }
}

/** Changes for `userId`, one at a time `gapMs` apart; returns when each committed (wall clock, ms). */
async function ticks(hub: Hub, userId: string, first: number, count: number, gapMs: number): Promise<Map<number, number>> {
  const sent = new Map<number, number>();
  for (let tick = first; tick < first + count; tick++) {
    await hub.db.transaction((trx) => appendEvent(trx, { type: 'bench.tick', userId, data: { tick } }));
    sent.set(tick, performance.timeOrigin + performance.now());
    await sleep(gapMs);
  }
  return sent;
}

function latencies(sent: Map<number, number>, received: Record<number, number[]>, expected: number, cpu: NodeJS.CpuUsage): Latencies {
  const all: number[] = [];
  let missed = 0;
  let leaked = 0;
  for (const [tick, at] of sent) {
    const arrivals = received[tick] ?? [];
    missed += Math.max(0, expected - arrivals.length);
    leaked += Math.max(0, arrivals.length - expected);
    for (const arrived of arrivals) all.push(arrived - at);
  }
  all.sort((a, b) => a - b);
  return { deliveries: all.length, missed, leaked, p50: percentile(all, 50), p99: percentile(all, 99), max: all.at(-1) ?? NaN, slowest: all.slice(-5), cpuMs: (cpu.user + cpu.system) / 1000 / sent.size };
}

export async function measureFanout(options: FanoutOptions): Promise<FanoutResult> {
  const { others, broadcast } = options;
  const fdLimit = (() => {
    try {
      return execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim();
    } catch {
      return 'unknown';
    }
  })();
  const { hub, stop } = await startEventsHub({
    adminDatabaseUrl: options.adminDatabaseUrl,
    redisUrl: options.redisUrl,
    redisPrefix: options.redisPrefix,
    // Every client comes from 127.0.0.1, and the broadcast is one person's connections.
    env: { LIVE_MAX_PER_ADDRESS: String(others + broadcast + 10), LIVE_MAX_PER_PERSON: String(Math.min(10_000, Math.max(20, broadcast))) },
  });
  const child = fork(path.join(import.meta.dirname, 'live-clients.ts'), [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const cores = availableParallelism();
  let placement = `hub and clients not pinned (${cores} core${cores === 1 ? '' : 's'}); PostgreSQL and Redis on every core`;
  if (cores >= 2 && pin(process.pid, '0') && pin(child.pid!, '1')) {
    placement = 'hub (this process) pinned to core 0, clients (a child process) to core 1 (taskset); PostgreSQL and Redis not pinned, on both cores';
  }
  // The hub is this process: it has the hub's V8 settings only when the bench was started with them.
  const missingFlags = missingHubNodeFlags();
  placement += missingFlags.length ? `; the hub without ${missingFlags.join(' ')} (npm run bench passes it)` : `; the hub with ${hubNodeFlags.join(' ')}`;
  try {
    const clients = new Clients(child);
    log(`bench: live-fanout: making ${others + 1} people and their tokens`);
    const { ids, tokens } = await peopleWithTokens(hub, others + 1);

    const loadBefore = loadavg()[0]!;
    // 1. One person's events among `others` other people's connections.
    let started = performance.now();
    const one = await clients.ask<{ ready: number; failures: Record<string, number> }>({ kind: 'open', url: hub.url, tokens }, 'opened');
    log(`bench: live-fanout: ${one.ready} of ${tokens.length} connected in ${Math.round(performance.now() - started)} ms ${JSON.stringify(one.failures)}; hub holds ${hub.events.live.connectionCount}`);
    await sleep(1000);
    await ticks(hub, ids[0]!, 0, 5, 50); // warm-up
    await sleep(500);
    await clients.ask({ kind: 'report' }, 'report');
    let cpu = process.cpuUsage();
    const sentOne = await ticks(hub, ids[0]!, 1000, options.oneTicks, 20);
    const cpuOne = process.cpuUsage(cpu);
    await sleep(1000);
    const receivedOne = (await clients.ask<{ received: Record<number, number[]> }>({ kind: 'report' }, 'report')).received;
    await clients.ask({ kind: 'close' }, 'closed');
    await sleep(1000);

    // 2. One event to `broadcast` connections.
    started = performance.now();
    const wideTokens = Array.from({ length: broadcast }, () => tokens[1]!);
    const wide = await clients.ask<{ ready: number; failures: Record<string, number> }>({ kind: 'open', url: hub.url, tokens: wideTokens }, 'opened');
    log(`bench: live-fanout: ${wide.ready} of ${broadcast} connections of one person in ${Math.round(performance.now() - started)} ms ${JSON.stringify(wide.failures)}; hub holds ${hub.events.live.connectionCount}`);
    await sleep(1000);
    await ticks(hub, ids[1]!, 0, 3, 300); // warm-up
    await sleep(500);
    await clients.ask({ kind: 'report' }, 'report');
    cpu = process.cpuUsage();
    const sentWide = await ticks(hub, ids[1]!, 2000, options.broadcastTicks, 500);
    const cpuWide = process.cpuUsage(cpu);
    await sleep(1500);
    const receivedWide = (await clients.ask<{ received: Record<number, number[]> }>({ kind: 'report' }, 'report')).received;
    await clients.ask({ kind: 'close' }, 'closed');

    const failures: Record<string, number> = {};
    for (const f of [one.failures, wide.failures]) for (const [k, n] of Object.entries(f)) failures[k] = (failures[k] ?? 0) + n;
    return {
      others,
      broadcast,
      connected: { one: one.ready, broadcast: wide.ready },
      failures,
      one: latencies(sentOne, receivedOne, 1, cpuOne),
      loadBefore,
      wide: latencies(sentWide, receivedWide, wide.ready, cpuWide),
      placement,
      fdLimit,
    };
  } finally {
    child.kill();
    if (cores >= 2) pin(process.pid, `0-${cores - 1}`);
    await stop();
  }
}
