import cluster, { type Worker } from 'node:cluster';
import { randomUUID } from 'node:crypto';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Config } from '../platform/config.ts';
import { createLogger } from '../platform/logger.ts';
import { openDatabase } from '../db/database.ts';
import { migrateSchema } from '../db/migrate.ts';
import { withHubNodeFlags } from './node-flags.ts';

/** Messages between the primary and its hub processes, over node:cluster's channel. */
type ProcessMessage =
  | { uniqverse: 'ready'; url: string }
  | { uniqverse: 'metrics'; id: string }
  | { uniqverse: 'metrics-answer'; id: string; text?: string; error?: string };

const isOurs = (message: unknown): message is ProcessMessage => typeof message === 'object' && message !== null && 'uniqverse' in message;

/** A process that dies this soon after it was ready counts towards a crash loop. */
const crashWindowMs = 60_000;
const crashesAllowed = 5;
const stopTimeoutMs = 15_000;

/**
 * The primary of `--workers N`: migrates once, starts N hub processes that share one listening
 * port (node:cluster hands each new connection to the next process), starts a new one when one
 * dies, and stops them all on SIGINT or SIGTERM, each finishing what it serves.
 *
 * It serves nothing itself. Everything the processes share goes where it goes between instances
 * on several machines: the database, its change notices (each process keeps its caches true by
 * them) and Redis (events, live streams, rate limits). The one thing the primary adds is
 * /metrics: a process asked for it collects every process's series through the primary, so a
 * scrape sees the whole hub whichever process answers.
 */
export async function superviseWorkers(config: Config, count: number, announce: (url: string) => void): Promise<void> {
  const logger = createLogger(config.logLevel);
  for (const warning of config.warnings) logger.warn(warning);
  await migrateOnce(config);

  const aggregator = new AggregatorRegistry();
  const ready = new Set<number>();
  const crashes: number[] = [];
  let stopping = false;
  let exitCode = 0;
  let announced = false;

  // Each hub process gets the V8 settings it is meant to run with, whatever the primary was started with.
  cluster.setupPrimary({ execArgv: withHubNodeFlags(process.execArgv) });
  const start = () => cluster.fork();
  cluster.on('message', (worker: Worker, message: unknown) => {
    if (!isOurs(message)) return;
    if (message.uniqverse === 'ready') {
      ready.add(worker.id);
      if (!announced && ready.size === count) {
        announced = true;
        logger.info({ url: message.url, processes: count }, 'UniQVerse is listening');
        announce(message.url);
      }
    } else if (message.uniqverse === 'metrics') {
      aggregator.clusterMetrics().then(
        (text) => send(worker, { uniqverse: 'metrics-answer', id: message.id, text }),
        (error: Error) => send(worker, { uniqverse: 'metrics-answer', id: message.id, error: error.message }),
      );
    }
  });

  cluster.on('exit', (worker: Worker, code: number | null, signal: string | null) => {
    const wasReady = ready.delete(worker.id);
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(exitCode);
      return;
    }
    if (!wasReady) {
      // It never served: the same configuration would fail again (a port in use, a bad setting).
      logger.error({ pid: worker.process.pid, code, signal }, 'a hub process stopped before it was ready; stopping');
      stopAll(code && code !== 0 ? code : 1);
      return;
    }
    const now = Date.now();
    crashes.push(now);
    while (crashes.length && crashes[0]! < now - crashWindowMs) crashes.shift();
    if (crashes.length > crashesAllowed) {
      logger.error({ crashes: crashes.length }, 'hub processes keep dying; stopping');
      stopAll(1);
      return;
    }
    logger.warn({ pid: worker.process.pid, code, signal }, 'a hub process died; starting another');
    start();
  });

  /** Each process finishes what it serves; one that has not after stopTimeoutMs is killed. */
  function stopAll(code: number): void {
    stopping = true;
    exitCode = code;
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => Boolean(w));
    if (workers.length === 0) process.exit(exitCode);
    for (const worker of workers) worker.process.kill('SIGTERM');
    setTimeout(() => {
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
      process.exit(exitCode || 1);
    }, stopTimeoutMs).unref();
  }
  const onSignal = (signal: string) => {
    logger.info({ signal }, 'shutting down every hub process');
    stopAll(0);
  };
  process.once('SIGINT', () => onSignal('SIGINT'));
  process.once('SIGTERM', () => onSignal('SIGTERM'));

  for (let i = 0; i < count; i++) start();
}

function send(worker: Worker, message: ProcessMessage): void {
  if (worker.isConnected()) worker.send(message);
}

/** Before any process starts, so N of them do not queue on the migration lock and a failure shows once. */
async function migrateOnce(config: Config): Promise<void> {
  const database = await openDatabase(config.database);
  try {
    await migrateSchema(database.db, config.migrationDatabaseUrl);
  } finally {
    await database.close();
  }
}

/** In a hub process: let the primary collect this registry when any process is scraped. */
export function reportMetricsToPrimary(registry: Registry): void {
  AggregatorRegistry.setRegistries([registry]);
  // Constructing one in a worker installs prom-client's answer to the primary's requests.
  void new AggregatorRegistry();
}

const pending = new Map<string, { resolve: (text: string) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }>();
let listening = false;

/** In a hub process: /metrics answers with every process's series, summed by the primary. */
export function askPrimaryForMetrics(): Promise<string> {
  if (!listening) {
    listening = true;
    process.on('message', (message: unknown) => {
      if (!isOurs(message) || message.uniqverse !== 'metrics-answer') return;
      const waiting = pending.get(message.id);
      if (!waiting) return;
      pending.delete(message.id);
      clearTimeout(waiting.timer);
      if (message.text !== undefined) waiting.resolve(message.text);
      else waiting.reject(new Error(`the primary could not collect metrics: ${message.error ?? 'no answer'}`));
    });
  }
  const id = randomUUID();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      pending.delete(id);
      reject(new Error('the primary did not answer with metrics in 6 s'));
    }, 6000);
    pending.set(id, { resolve, reject, timer });
    process.send!({ uniqverse: 'metrics', id } satisfies ProcessMessage);
  });
}
