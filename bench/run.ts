/**
 * `npm run bench`: the hub on Postgres + Redis next to a bare node-oidc-provider, case by case,
 * one server under load at a time, in turns. Prints a table (the same as in docs/benchmarks.md).
 * Not a test: it never fails because a machine is slow; it exits non-zero only if it cannot run.
 */
import { compareWorkers, type WorkersResult } from './workers.ts';
import { benchDatabase, benchRedis, postgresVersion } from './backends.ts';
import { loadCases, type LoadCase } from './cases.ts';
import { DatabaseBackends, processCpuMs, startCpuReading } from './cpu.ts';
import { combineTurns, measureLoad, type LoadOptions, type Measurement } from './load.ts';
import { loginStorm, type StormResult } from './login-storm.ts';
import { parseOptions, usage, type BenchOptions } from './options.ts';
import { compareHashing } from './password-hashing.ts';
import { describeMachine, formatEventsReport, formatReport, type CaseRow } from './report.ts';
import { startServer, type RunningServer } from './servers.ts';
import { measureSignIns } from './sign-in-loop.ts';
import { withSignInBudget, type SignInBudget } from './sign-in-budget.ts';
import { measureRelay, type RelayResult } from './relay.ts';
import { measureFanout, type FanoutResult } from './live-fanout.ts';
import type { Target } from './target.ts';

const log = (line: string) => process.stderr.write(`${line}\n`);

/** One request with fetch before the load: the case must answer as intended, or its numbers mean nothing. */
async function probe(c: LoadCase, t: Target, options: Omit<LoadOptions, 'duration' | 'connections'>): Promise<void> {
  const response = await fetch(options.url, { method: options.method ?? 'GET', headers: options.headers, body: options.nextBody?.() ?? options.body });
  const body = await response.text();
  options.onAnswer?.(response.status, body);
  if (response.status !== 200 || (c.expect && !c.expect(body))) throw new Error(`${c.id} on ${t.name}: answered ${response.status} ${body.slice(0, 200)}`);
}

/**
 * CPU ms per second each server spends with no requests (the hub's outbox relay, webhook and task
 * pollers), and for ours the Redis server serving those pollers (when it runs on this machine).
 */
const idle = new Map<RunningServer, { server: number; database: number; redis: number }>();

async function measureIdle(server: RunningServer, backends: DatabaseBackends, redisPid: number | null = null): Promise<void> {
  // Let start-up work (JIT, the relay catching up with the fixtures' events) settle first.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const reading = await startCpuReading(server.pid, server.target.name === 'ours' ? backends : null);
  const redisBefore = redisPid === null ? null : processCpuMs(redisPid);
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const { serverMs, databaseMs } = await reading();
  const redisAfter = redisPid === null ? null : processCpuMs(redisPid);
  const seconds = (performance.now() - started) / 1000;
  const redisMs = redisBefore !== null && redisAfter !== null ? redisAfter - redisBefore : 0;
  idle.set(server, { server: (serverMs ?? 0) / seconds, database: (databaseMs ?? 0) / seconds, redis: redisMs / seconds });
}

/**
 * Runs `work` and adds the CPU the server (and, for ours, its Postgres backends) spent per
 * request, less what it spends idle over the same time.
 */
async function withCpu(server: RunningServer, backends: DatabaseBackends, work: () => Promise<Measurement>): Promise<Measurement> {
  const reading = await startCpuReading(server.pid, server.target.name === 'ours' ? backends : null);
  const queriesBefore = await server.queries();
  const started = performance.now();
  const m = await work();
  const seconds = (performance.now() - started) / 1000;
  const { serverMs, databaseMs } = await reading();
  const queriesAfter = await server.queries();
  const count = m.ok + m.failed;
  const base = idle.get(server) ?? { server: 0, database: 0 };
  const per = (ms: number | null, idlePerSecond: number) => (ms !== null && count ? Math.max(0, ms - idlePerSecond * seconds) / count : null);
  if (queriesBefore && queriesAfter && count) {
    m.queries = (queriesAfter.count - queriesBefore.count) / count;
    m.statements = {};
    for (const [sql, n] of Object.entries(queriesAfter.statements)) {
      const per = (n - (queriesBefore.statements[sql] ?? 0)) / count;
      if (per > 0) m.statements[sql] = per;
    }
  }
  m.cpu = { server: per(serverMs, base.server), database: per(databaseMs, base.database) };
  return m;
}

/** The case's load options on one server, checked with one request and warmed up. */
async function prepareCase(c: LoadCase, server: RunningServer, o: BenchOptions): Promise<Omit<LoadOptions, 'duration' | 'connections'>> {
  const prepared = await c.prepare(server.target, o.connections, o.turns);
  await probe(c, server.target, prepared);
  if (o.warmup) await measureLoad({ ...prepared, duration: o.warmup, connections: o.connections });
  return prepared;
}

/**
 * Both servers in turns (ours, bare, ours, bare, …), `--duration` split over `--turns`: this
 * machine's speed drifts within minutes, and turns put both under the same drift.
 */
async function measureCase(c: LoadCase, ours: RunningServer, bare: RunningServer, o: BenchOptions, backends: DatabaseBackends): Promise<{ mine: Measurement; theirs: Measurement; ratios: number[] }> {
  const preparedOurs = await prepareCase(c, ours, o);
  const preparedBare = await prepareCase(c, bare, o);
  const duration = o.duration / o.turns;
  const mine: Measurement[] = [];
  const theirs: Measurement[] = [];
  for (let turn = 0; turn < o.turns; turn++) {
    mine.push(await withCpu(ours, backends, () => measureLoad({ ...preparedOurs, duration, connections: o.connections })));
    theirs.push(await withCpu(bare, backends, () => measureLoad({ ...preparedBare, duration, connections: o.connections })));
  }
  return { mine: combineTurns(mine), theirs: combineTurns(theirs), ratios: mine.map((m, i) => m.rps / (theirs[i]!.rps || 1)) };
}

const show = (m: Measurement) =>
  `${Math.round(m.rps)}/s p99 ${m.p99.toFixed(1)} ms, CPU/req ${m.cpu?.server?.toFixed(3) ?? '?'} ms` +
  `${m.cpu?.database ? ` + db ${m.cpu.database.toFixed(3)} ms` : ''}${m.queries ? `, ${m.queries.toFixed(1)} SQL/req` : ''}${m.failed ? `, ${m.failed} failed` : ''}${m.note ? ` (${m.note})` : ''}`;

function logStatements(m: Measurement) {
  for (const [sql, per] of Object.entries(m.statements ?? {}).sort((a, b) => b[1] - a[1])) log(`         ${per.toFixed(2)}× ${sql}`);
}

async function main() {
  let o: BenchOptions;
  try {
    o = parseOptions(process.argv.slice(2), process.env);
  } catch (error) {
    log(`bench: ${(error as Error).message}\n${usage}`);
    process.exit(64);
  }
  // Every part is bounded; this is the backstop if a server hangs.
  const loadParts = loadCases.filter((c) => o.only.has(c.id as never)).length + 2 + (o.only.has('workers') ? 4 : 0) + (o.only.has('relay') ? 2 : 0) + (o.only.has('live-fanout') ? 6 : 0);
  const budgetMs = (loadParts * 2 * (o.duration + o.warmup + 20) + 300) * 1000;
  let stopAll = async () => undefined as void;
  const watchdog = setTimeout(() => {
    log(`bench: still running after ${Math.round(budgetMs / 1000)} s; giving up`);
    const exit = setTimeout(() => process.exit(2), 15_000);
    stopAll().finally(() => {
      clearTimeout(exit);
      process.exit(2);
    });
  }, budgetMs);

  const database = await benchDatabase(o.databaseUrl, o.adminDatabaseUrl);
  const redis = await benchRedis(o.redisUrl);
  const backends = new DatabaseBackends(database.url);
  const servers: RunningServer[] = [];
  const rows: CaseRow[] = [];
  let hashing: Awaited<ReturnType<typeof compareHashing>> | undefined;
  let storm: { result: StormResult; calmP99: number | null } | undefined;
  stopAll = async () => {
    await Promise.allSettled(servers.map((s) => s.stop()));
    await backends.close();
    await database.release().catch((error: Error) => log(`bench: could not drop the database: ${error.message}`));
    await redis.forget().catch((error: Error) => log(`bench: could not clean Redis: ${error.message}`));
  };
  process.once('SIGINT', () => {
    log('bench: interrupted; cleaning up');
    stopAll().finally(() => process.exit(130));
  });

  try {
    const machine = describeMachine(await postgresVersion(database.url), redis.version);
    const command = `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim().replace(/ --$/, '');
    // The event parts first, each on a hub and a database of its own, while nothing else runs.
    let relay: RelayResult | undefined;
    let fanout: FanoutResult | undefined;
    if (o.only.has('relay')) {
      log(`bench: relay: ${o.turns} turns of ${o.relayEvents} outbox events to the Redis Stream`);
      relay = await measureRelay({ adminDatabaseUrl: o.adminDatabaseUrl, redisUrl: o.redisUrl, redisPrefix: `${redis.prefix}relay:`, events: o.relayEvents, turns: o.turns });
    }
    if (o.only.has('live-fanout')) {
      log(`bench: live-fanout: ${o.fanoutConnections} connections`);
      fanout = await measureFanout({ adminDatabaseUrl: o.adminDatabaseUrl, redisUrl: o.redisUrl, redisPrefix: `${redis.prefix}fanout:`, others: o.fanoutConnections, broadcast: o.fanoutConnections, oneTicks: 1000, broadcastTicks: 20 });
    }
    if (relay || fanout) console.log(formatEventsReport({ machine, command, relay, fanout }));
    if (![...o.only].some((part) => part !== 'relay' && part !== 'live-fanout')) return;

    log(`bench: starting the hub (Postgres ${machine.postgres}, Redis ${machine.redis}) and the bare provider`);
    const ours = await startServer('ours', { BENCH_DATABASE_URL: database.url, BENCH_REDIS_URL: o.redisUrl, BENCH_REDIS_PREFIX: redis.prefix,
      // Eight people per account: under the per-account limit of parallel attempts.
      BENCH_STORM_ACCOUNTS: String(o.only.has('storm') ? Math.ceil(o.stormPeople / 8) : 0),
    }, o.profileDir);
    servers.push(ours);
    const bare = await startServer('bare', {}, o.profileDir);
    servers.push(bare);
    await Promise.all([measureIdle(ours, backends, redis.pid), measureIdle(bare, backends)]);
    const idleOurs = idle.get(ours)!;
    log(`bench: idle CPU: hub ${idleOurs.server.toFixed(0)} ms/s + Postgres ${idleOurs.database.toFixed(0)} ms/s, bare ${idle.get(bare)!.server.toFixed(0)} ms/s (subtracted below)`);

    const calm = new Map<string, Measurement>();
    for (const c of loadCases) {
      if (!o.only.has(c.id as never)) continue;
      const { mine, theirs, ratios } = await measureCase(c, ours, bare, o, backends);
      log(`bench: ${c.id} ours ${show(mine)}`);
      if (o.showQueries) logStatements(mine);
      log(`bench: ${c.id} bare ${show(theirs)}`);
      log(`bench: ${c.id} ours/bare by turn ${ratios.map((r) => `${r.toFixed(2)}×`).join(', ')}`);
      calm.set(c.id, mine);
      rows.push({ label: c.label, target: c.target, ours: mine, bare: theirs, met: c.met(mine, theirs) });
    }

    let signInBudget: SignInBudget | null = null;
    if (o.only.has('sign-in')) {
      const { measurement: mine, budget } = await withSignInBudget(ours.pid, redis.pid, { hubMain: idleOurs.server, redis: idleOurs.redis }, () =>
        withCpu(ours, backends, () => measureSignIns(ours.target, o.duration, o.signInConcurrency)),
      );
      signInBudget = budget;
      log(`bench: sign-in ours ${show(mine)}`);
      if (budget) log(`bench: sign-in CPU ms per sign-in: hub main ${budget.hubMain.toFixed(2)}, pool ${budget.hubPool.toFixed(2)}, other ${budget.hubOther.toFixed(2)}; Postgres ${budget.postgres?.toFixed(2) ?? '?'}; Redis ${budget.redis?.toFixed(2) ?? '?'}; load generator ${budget.loadGenerator.toFixed(2)}; ceiling ${budget.ceiling.toFixed(0)}/s`);
      if (o.showQueries) logStatements(mine);
      const theirs = await withCpu(bare, backends, () => measureSignIns(bare.target, o.duration, o.signInConcurrency));
      log(`bench: sign-in bare ${show(theirs)}`);
      rows.push({
        label: 'full sign-in with password (code + PKCE, pages, token)',
        target: 'argon2id m=19456 t=2 p=1 (bare checks no password)',
        ours: mine,
        bare: theirs,
        met: mine.failed === 0,
      });
    }

    if (o.only.has('hashing')) {
      hashing = await compareHashing(Math.min(o.duration, 3));
      for (const r of hashing.results) log(`bench: ${r.library} ${r.perSecond.toFixed(1)} hashes/s, one hash ${r.medianMs.toFixed(1)} ms`);
    }

    if (o.only.has('storm')) {
      const cc = loadCases.find((c) => c.id === 'client-credentials')!;
      const prepared = await cc.prepare(ours.target, o.connections, 1);
      const result = await loginStorm(ours.target, { ...prepared, duration: o.duration, connections: o.connections }, o.stormPeople);
      log(`bench: storm ${JSON.stringify(result.answers)} token p99 ${result.duringStorm.p99.toFixed(1)} ms during the storm`);
      storm = { result, calmP99: calm.get('client-credentials')?.p99 ?? null };
    }

    let workers: WorkersResult | undefined;
    if (o.only.has('workers')) {
      workers = await compareWorkers({ adminDatabaseUrl: o.adminDatabaseUrl, redisUrl: o.redisUrl, redisPrefix: `${redis.prefix}workers:`, duration: o.duration, turns: o.turns, warmup: o.warmup, connections: o.connections });
      log(`bench: workers 1 process ${show(workers.one)}; 2 processes ${show(workers.two)}; ${workers.ratio.toFixed(2)}×`);
    }

    console.log(formatReport({ machine, command, idle: { hub: idleOurs.server, database: idleOurs.database, bare: idle.get(bare)!.server }, duration: o.duration, turns: o.turns, connections: o.connections, signInConcurrency: o.signInConcurrency, rows, signInBudget, hashing, storm, workers }));
  } finally {
    await stopAll();
    clearTimeout(watchdog);
  }
}

main().then(() => process.exit(0), (error: unknown) => {
  log(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(1);
});
