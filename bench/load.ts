import type { EventEmitter } from 'node:events';
import autocannon from 'autocannon';

/** One measured case on one server. */
export interface Measurement {
  /** Successful (2xx) requests or completed sign-ins per second. */
  rps: number;
  /** 99th percentile latency, ms. */
  p99: number;
  ok: number;
  failed: number;
  seconds: number;
  note?: string;
  /** CPU ms per request (or per sign-in) of the server process, and of its Postgres backends. */
  cpu?: { server: number | null; database: number | null };
  /** SQL statements per request (the hub only), in all and by statement text. */
  queries?: number | null;
  statements?: Record<string, number>;
}

export interface LoadOptions {
  url: string;
  duration: number;
  connections: number;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** Builds each request's body afresh (one refresh token per request). */
  nextBody?: () => string;
  /** Sees every answer's status and body (to take the rotated refresh token back into the pool). */
  onAnswer?: (status: number, body: string) => void;
  /** Every answer's latency in ms, as it arrives (latency inside a time window). */
  onLatency?: (ms: number) => void;
}

/** autocannon in-process over loopback, for a bounded time. Counts only 2xx answers as throughput. */
export async function measureLoad(options: LoadOptions): Promise<Measurement> {
  const { nextBody, onAnswer } = options;
  const run = autocannon({
    url: options.url,
    duration: options.duration,
    connections: options.connections,
    method: options.method ?? 'GET',
    headers: options.headers,
    body: options.body,
    ...(nextBody || onAnswer
      ? {
          requests: [
            {
              ...(nextBody ? { setupRequest: (request: autocannon.Request) => ({ ...request, body: nextBody() }) } : {}),
              ...(onAnswer ? { onResponse: (status: number, body: string) => onAnswer(status, body) } : {}),
            },
          ],
        }
      : {}),
  }) as Promise<autocannon.Result> & EventEmitter;
  const { onLatency } = options;
  if (onLatency) run.on('response', (client: unknown, status: number, bytes: number, ms: number) => onLatency(ms));
  const result = await run;
  const failed = result.non2xx + result.errors + result.timeouts;
  return {
    rps: result['2xx'] / result.duration,
    p99: result.latency.p99,
    ok: result['2xx'],
    failed,
    seconds: result.duration,
  };
}

/**
 * The turns of one case on one server as one measurement: requests per second over all of them,
 * CPU and statements per request weighted by each turn's answers, and the worst turn's p99 (the
 * turns' latencies are not kept, so no exact p99 of all of them can be made).
 */
export function combineTurns(turns: Measurement[]): Measurement {
  const ok = turns.reduce((sum, m) => sum + m.ok, 0);
  const failed = turns.reduce((sum, m) => sum + m.failed, 0);
  const seconds = turns.reduce((sum, m) => sum + m.seconds, 0);
  const answers = ok + failed;
  const weighted = (value: (m: Measurement) => number | null | undefined): number | null => {
    if (!answers || turns.some((m) => value(m) === null || value(m) === undefined)) return null;
    return turns.reduce((sum, m) => sum + value(m)! * (m.ok + m.failed), 0) / answers;
  };
  const statements: Record<string, number> = {};
  for (const m of turns) for (const [sql, per] of Object.entries(m.statements ?? {})) statements[sql] = (statements[sql] ?? 0) + (per * (m.ok + m.failed)) / (answers || 1);
  return {
    rps: seconds ? ok / seconds : 0,
    p99: Math.max(...turns.map((m) => m.p99)),
    ok,
    failed,
    seconds,
    cpu: turns.some((m) => m.cpu) ? { server: weighted((m) => m.cpu?.server), database: weighted((m) => m.cpu?.database) } : undefined,
    queries: weighted((m) => m.queries),
    statements,
  };
}
