import type { WorkersResult } from './workers.ts';
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg, totalmem } from 'node:os';
import type { RelayResult } from './relay.ts';
import type { FanoutResult, Latencies } from './live-fanout.ts';
import { createRequire } from 'node:module';
import type { Measurement } from './load.ts';
import type { HashingResult } from './password-hashing.ts';
import type { StormResult } from './login-storm.ts';
import type { SignInBudget } from './sign-in-budget.ts';

/** Issue 17's target for whole password sign-ins a second on the 2-core machine. */
const signInTarget = 80;

export interface Machine {
  cores: number;
  cpu: string;
  memoryGiB: number;
  node: string;
  postgres: string;
  redis: string;
  oidcProvider: string;
}

export function describeMachine(postgres: string, redis: string): Machine {
  let cpu = 'unknown';
  try {
    cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpu;
  } catch {
    // not Linux
  }
  const require = createRequire(import.meta.url);
  const oidcProvider = (require('oidc-provider/package.json') as { version: string }).version;
  return { cores: availableParallelism(), cpu, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, postgres, redis, oidcProvider };
}

export interface CaseRow {
  label: string;
  target: string;
  ours: Measurement;
  bare: Measurement;
  met: boolean;
}

const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');
const ms = (n: number) => (Number.isFinite(n) ? (n >= 100 ? n.toFixed(0) : n.toFixed(1)) : '–');
const failures = (m: Measurement) => (m.failed ? ` (${m.failed} failed)` : '');
/** Three significant digits down to 0.001 ms: a token request costs tenths of a millisecond, and a ratio of rounded tenths says little. */
const cpuMs = (n: number) => n.toFixed(n >= 10 ? 0 : n >= 1 ? 2 : 3);
const cpu = (m: Measurement) => {
  if (m.cpu?.server == null) return '–';
  return m.cpu.database == null ? cpuMs(m.cpu.server) : `${cpuMs(m.cpu.server)} + ${cpuMs(m.cpu.database)}`;
};
/** The hub process's CPU per request over the bare provider's (Postgres not counted: the bare provider has none). */
const cpuRatio = (r: CaseRow) => (r.ours.cpu?.server != null && r.bare.cpu?.server ? `${(r.ours.cpu.server / r.bare.cpu.server).toFixed(2)}×` : '–');

function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

export function formatReport(input: {
  machine: Machine;
  command: string;
  /** CPU ms per second with no load, subtracted from the CPU per request. */
  idle: { hub: number; database: number; bare: number };
  duration: number;
  turns: number;
  connections: number;
  signInConcurrency: number;
  rows: CaseRow[];
  signInBudget?: SignInBudget | null;
  hashing?: { results: HashingResult[]; interoperable: boolean };
  storm?: { result: StormResult; calmP99: number | null };
  workers?: WorkersResult;
}): string {
  const { machine: m } = input;
  const out: string[] = [];
  out.push(
    `Machine: ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, Node ${m.node}, PostgreSQL ${m.postgres}, Redis ${m.redis}, oidc-provider ${m.oidcProvider}`,
    `Command: ${input.command} — ${input.duration} s per case and server in ${input.turns} turns each, ${input.connections} connections; sign-in: ${input.signInConcurrency} at once`,
    `CPU per request is net of idle CPU (hub ${input.idle.hub.toFixed(0)} ms/s + its Postgres backends ${input.idle.database.toFixed(0)} ms/s; bare ${input.idle.bare.toFixed(0)} ms/s).`,
    '',
  );
  if (input.rows.length) {
    out.push(
      table(
        ['case', 'ours req/s', 'ours p99 ms', 'bare req/s', 'bare p99 ms', 'ours/bare', 'CPU ms/req ours (hub + Postgres)', 'CPU ms/req bare', 'hub CPU / bare', 'target', 'met'],
        input.rows.map((r) => [
          r.label,
          int(r.ours.rps) + failures(r.ours),
          ms(r.ours.p99),
          int(r.bare.rps) + failures(r.bare),
          ms(r.bare.p99),
          `${(r.ours.rps / r.bare.rps).toFixed(2)}×`,
          cpu(r.ours),
          cpu(r.bare),
          cpuRatio(r),
          r.target,
          r.met ? 'yes' : 'no',
        ]),
      ),
      '',
    );
  }
  if (input.signInBudget) out.push(...signInBudgetReport(input.signInBudget), '');
  if (input.hashing) {
    const [first, second] = input.hashing.results;
    out.push(
      table(
        ['argon2id m=19456 t=2 p=1', 'hashes/s', 'at once', 'one hash, median ms', 'one hash, p99 ms'],
        input.hashing.results.map((r) => [r.library, r.perSecond.toFixed(1), String(r.concurrency), ms(r.medianMs), ms(r.p99Ms)]),
      ),
    );
    if (first && second) {
      const faster = first.perSecond >= second.perSecond ? first : second;
      const slower = faster === first ? second : first;
      out.push(
        `Faster: ${faster.library}, ${(faster.perSecond / slower.perSecond).toFixed(2)}× the hashes/s of ${slower.library}; ` +
          `hashes ${input.hashing.interoperable ? 'verify across both libraries' : 'do NOT verify across the libraries'}.`,
      );
    }
    out.push('');
  }
  if (input.storm) {
    const { result: s, calmP99 } = input.storm;
    const answers = Object.entries(s.answers).sort().map(([status, n]) => `${n}× ${status}`).join(', ');
    out.push(
      `Login storm: ${s.people} password sign-in POSTs at once during client-credentials load. Answers: ${answers} (303 = signed in, 503 = turned away by the hasher's cap), all answered in ${s.stormSeconds.toFixed(2)} s.`,
      `Token endpoint: p99 ${ms(s.duringStorm.p99)} ms over the ${s.duringStorm.answers} answers during the storm, ${ms(s.tokenEndpoint.p99)} ms over the whole run (${int(s.tokenEndpoint.rps)} req/s${failures(s.tokenEndpoint)})` +
        (calmP99 === null ? '.' : `; ${ms(calmP99)} ms without the storm.`),
      '',
    );
  }
  if (input.workers) {
    const { one, two, ratio } = input.workers;
    out.push(
      table(
        ['`uniqverse start --workers N` (PostgreSQL + Redis): client credentials', 'req/s', 'p99 ms'],
        [
          ['1 process', int(one.rps) + failures(one), ms(one.p99)],
          ['2 processes', int(two.rps) + failures(two), ms(two.p99)],
        ],
      ),
      `2 processes serve ${ratio.toFixed(2)}× the tokens a second of 1 (target ≥ 1.6×); autocannon, PostgreSQL and Redis run on the same ${input.machine.cores} cores.`,
      '',
    );
  }
  return out.join('\n');
}

/** The relay and live fan-out parts (bench/relay.ts, bench/live-fanout.ts). */
export function formatEventsReport(input: { machine: Machine; command: string; relay?: RelayResult; fanout?: FanoutResult }): string {
  const { machine: m, relay, fanout } = input;
  const out: string[] = [
    `Machine: ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, Node ${m.node}, PostgreSQL ${m.postgres}, Redis ${m.redis}; load average at the end ${loadavg().map((n) => n.toFixed(2)).join(' ')}`,
    `Command: ${input.command}`,
    '',
  ];
  if (relay) {
    out.push(
      table(
        ['relay, outbox (PostgreSQL) → Redis Stream', 'events/s', 'by turn', 'target', 'met'],
        [
          [`the hub's relay, ${int(relay.events)} waiting events of ${int(relay.people)} people per turn`, int(relay.relayPerSecond), relay.turns.map((t) => int(t.relayPerSecond)).join(', '), '≥ 20,000', relay.relayPerSecond >= 20_000 ? 'yes' : 'no'],
          ['before: the relay of commit 9246f33 (500 rows a round, one XADD each in a pipeline, IN lists), same backlog', int(relay.legacyPerSecond), relay.turns.map((t) => int(t.legacyPerSecond)).join(', '), '', ''],
          ['raw pipelined XADD of the same envelopes, 1,000 a round trip (no database)', int(relay.rawPerSecond), relay.turns.map((t) => int(t.rawPerSecond)).join(', '), '', ''],
        ],
      ),
      `Relay / before: ${(relay.relayPerSecond / relay.legacyPerSecond).toFixed(2)}×; relay / raw XADD: ${(relay.relayPerSecond / relay.rawPerSecond).toFixed(2)}×. The stream holds ${int(relay.streamEntries)} entries for the ${int(relay.written)} events written${relay.streamEntries === relay.written ? ' (each once)' : ' (NOT one each)'}.`,
      '',
    );
  }
  if (fanout) {
    const row = (label: string, l: Latencies, target: string, met: boolean) => [label, int(l.deliveries), String(l.missed), String(l.leaked), ms(l.p50), ms(l.p99), ms(l.max), ms(l.cpuMs), target, met ? 'yes' : 'no'];
    out.push(
      table(
        ['live fan-out, change committed → SSE client', 'deliveries', 'missed', 'to others', 'p50 ms', 'p99 ms', 'max ms', 'hub CPU ms per event', 'target', 'met'],
        [
          row(`one person's event, ${int(fanout.others)} other people connected (${int(fanout.connected.one)} connections open)`, fanout.one, 'p99 ≤ 10 ms', fanout.one.p99 <= 10 && !fanout.one.missed && !fanout.one.leaked),
          row(`one event to ${int(fanout.connected.broadcast)} connections (of one person)`, fanout.wide, 'p99 ≤ 150 ms', fanout.wide.p99 <= 150 && !fanout.wide.missed),
        ],
      ),
      `Slowest five, one person: ${fanout.one.slowest.map(ms).join(', ')} ms; broadcast: ${fanout.wide.slowest.map(ms).join(', ')} ms. Load average (1 min) when the clients were connected: ${fanout.loadBefore.toFixed(2)}.`,
      `Placement: ${fanout.placement}. Open files limit (ulimit -n): ${fanout.fdLimit}.${Object.keys(fanout.failures).length ? ` Connections that failed: ${JSON.stringify(fanout.failures)}.` : ''}`,
      '',
    );
  }
  return out.join('\n');
}

function signInBudgetReport(b: SignInBudget): string[] {
  const cell = (n: number | null) => (n === null ? '–' : n.toFixed(1));
  return [
    table(
      ['CPU of one full sign-in (ours), by process', 'ms'],
      [
        ['hub, main thread (JavaScript)', cell(b.hubMain)],
        ['hub, thread pool (argon2id, WebCrypto signatures)', cell(b.hubPool)],
        ["hub, other threads (V8's collector)", cell(b.hubOther)],
        ['PostgreSQL backends', cell(b.postgres)],
        ['Redis', cell(b.redis)],
        ['load generator (this process: HTTP client, pages, PKCE)', cell(b.loadGenerator)],
        ['all', cell(b.total)],
      ],
    ),
    `With all ${b.cores} cores busy, at most ${b.cores} × 1,000 / ${b.total.toFixed(1)} = ${int(b.ceiling)} sign-ins/s at this cost; measured ${int(b.measured)}/s (${Math.round((100 * b.measured) / b.ceiling)}% of it). ` +
      `${signInTarget}/s would need ${((b.cores * 1000) / signInTarget).toFixed(1)} ms in all.`,
  ];
}
