import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { ConfigError, type Config } from '../platform/config.ts';
import { DatabaseInUseError } from '../db/directory-lock.ts';
import { startHub, type Hub } from './start.ts';
import { askPrimaryForMetrics, reportMetricsToPrimary, superviseWorkers } from './hub-processes.ts';
import { missingHubNodeFlags } from './node-flags.ts';

/** How many hub processes can serve, and why fewer than asked for. */
export function processCount(config: Pick<Config, 'workers' | 'database' | 'redisUrl'>): { count: number; reason: string | null } {
  const asked = config.workers === 'auto' ? availableParallelism() : config.workers;
  if (asked <= 1) return { count: 1, reason: null };
  const setting = `WORKERS=${config.workers}`;
  if (config.database.kind === 'pglite') {
    return { count: 1, reason: `${setting}: the embedded database lives in one process, so the hub runs as one; set DATABASE_URL and REDIS_URL to run ${asked}` };
  }
  if (!config.redisUrl) {
    return { count: 1, reason: `${setting}: without REDIS_URL live events and rate limits are kept in one process, so the hub runs as one; set REDIS_URL to run ${asked}` };
  }
  return { count: asked, reason: null };
}

export const banner = (url: string, processes: number) =>
  `\n  UniQVerse is running at ${url}${processes > 1 ? ` (${processes} processes)` : ''}\n  Discovery: ${url}/.well-known/openid-configuration\n  Account:   ${url}/account\n`;

/**
 * Runs the hub until SIGINT or SIGTERM: one process, or with WORKERS a primary that supervises
 * that many (src/app/hub-processes.ts). A worker process started by the primary comes through here
 * too, since node:cluster runs the same entry point (`npm start` or `uniqverse start`).
 */
export async function serve(config: Config): Promise<void> {
  if (cluster.isWorker) return serveAsWorker(config);
  const { count, reason } = processCount(config);
  if (reason) config.warnings.push(reason);
  if (count > 1) return superviseWorkers(config, count, (url) => console.log(banner(url, count)));
  const missing = missingHubNodeFlags();
  if (missing.length) config.warnings.push(`node was started without ${missing.join(' ')} (npm start and uniqverse start pass them): live events' slowest deliveries wait longer on the garbage collector, and each request costs more CPU (src/app/node-flags.ts)`);
  const hub = await startOrExit(config);
  stopOnSignals(hub);
  console.log(banner(hub.url, 1));
}

async function serveAsWorker(config: Config): Promise<void> {
  // The primary has shown the warnings once already.
  const hub = await startOrExit({ ...config, warnings: [] }, { metricsText: askPrimaryForMetrics });
  reportMetricsToPrimary(hub.metrics);
  stopOnSignals(hub);
  // The primary gone (killed, not stopped): nobody hands this process connections any more.
  cluster.worker!.on('disconnect', () => void stop(hub, 'primary gone'));
  process.send!({ uniqverse: 'ready', url: hub.url });
}

let stopping: Promise<void> | null = null;
function stop(hub: Hub, reason: string): Promise<void> {
  stopping ??= (async () => {
    hub.logger.info({ reason }, 'shutting down');
    await hub.close();
    process.exit(0);
  })();
  return stopping;
}

function stopOnSignals(hub: Hub): void {
  process.once('SIGINT', () => void stop(hub, 'SIGINT'));
  process.once('SIGTERM', () => void stop(hub, 'SIGTERM'));
}

/** Starts one hub; a mistake in the configuration or a port in use is one line and exit 78, not a stack. */
export async function startOrExit(config: Config, options: Parameters<typeof startHub>[1] = {}): Promise<Hub> {
  try {
    return await startHub(config, options);
  } catch (error) {
    exitOnStartFailure(error);
  }
}

export function exitOnStartFailure(error: unknown): never {
  if (error instanceof ConfigError || error instanceof DatabaseInUseError) {
    console.error(error.message);
    process.exit(78);
  }
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE' || code === 'EACCES') {
    const { address, port } = error as NodeJS.ErrnoException & { address?: string; port?: number };
    console.error(`Cannot listen on ${address ?? ''}:${port ?? ''}: ${code === 'EADDRINUSE' ? 'another program (another hub?) is using that port' : 'not allowed to use that port'}. Stop it, or start with PORT=<another port>.`);
    process.exit(78);
  }
  throw error;
}
