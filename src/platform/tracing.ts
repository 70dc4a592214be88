import { DiagLogLevel, context, diag, propagation, trace } from '@opentelemetry/api';
import type { Logger } from './logger.ts';
import { traceRedisCommands } from './redis-spans.ts';
import { setTracingActive } from './spans.ts';

export interface Tracing {
  /** Exports what is pending, shuts the SDK down when no other hub of this process uses it. */
  stop(): Promise<void>;
}

interface Running {
  shutdown(): Promise<void>;
  users: number;
}

let running: Promise<Running> | null = null;
let stopping: Promise<void> = Promise.resolve();

/** OTEL_SERVICE_NAME or a `service.name` in OTEL_RESOURCE_ATTRIBUTES wins over our default. */
function serviceNameSet(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.OTEL_SERVICE_NAME) || /(^|,)\s*service\.name\s*=/.test(env.OTEL_RESOURCE_ATTRIBUTES ?? '');
}

async function startSdk(logger: Logger): Promise<Running> {
  // Loaded only now: with tracing off the SDK (and its exporters) is never imported.
  const { NodeSDK } = await import('@opentelemetry/sdk-node');
  // The exporter's complaints (a collector out of reach) go to our log; OTEL_LOG_LEVEL replaces this with the SDK's console logger.
  const warn = (message: string, ...args: unknown[]) => logger.warn({ otel: args.map(String) }, `opentelemetry: ${message}`);
  diag.setLogger({ error: warn, warn, info: () => undefined, debug: () => undefined, verbose: () => undefined }, DiagLogLevel.WARN);
  // Traces only: the hub's metrics are Prometheus's (/metrics), its logs pino's. Everything else
  // (exporter, protocol, headers, sampler, resource, batch sizes) the SDK reads from OTEL_* itself.
  const sdk = new NodeSDK({
    ...(serviceNameSet(process.env) ? {} : { serviceName: 'uniqverse' }),
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  const stopRedis = traceRedisCommands();
  setTracingActive(true);
  return {
    users: 0,
    async shutdown() {
      setTracingActive(false);
      stopRedis();
      await sdk.shutdown().catch((error: unknown) => logger.warn({ err: error }, 'opentelemetry: the last spans could not be exported'));
      // The API's globals are set once per process; cleared, a later hub here can start tracing again.
      trace.disable();
      context.disable();
      propagation.disable();
      diag.disable();
    },
  };
}

/**
 * Starts OpenTelemetry tracing for a hub: the SDK exports spans over OTLP to the endpoint of the
 * standard variables (OTEL_EXPORTER_OTLP_ENDPOINT, …). The SDK is global to the process, so hubs
 * of one process (tests) share it, and the last one to stop shuts it down.
 */
export async function startTracing(logger: Logger): Promise<Tracing> {
  await stopping;
  running ??= startSdk(logger).catch((error: unknown) => {
    running = null;
    throw error;
  });
  const sdk = await running;
  sdk.users++;
  let stopped = false;
  return {
    async stop() {
      if (stopped) return;
      stopped = true;
      if (--sdk.users > 0) return;
      running = null;
      stopping = sdk.shutdown();
      await stopping;
    },
  };
}
