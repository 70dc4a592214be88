import path from 'node:path';
import { parseArgs } from 'node:util';

export const parts = ['discovery', 'jwks', 'client-credentials', 'refresh', 'userinfo', 'introspection', 'sign-in', 'hashing', 'storm', 'workers', 'relay', 'live-fanout'] as const;
export type Part = (typeof parts)[number];

export interface BenchOptions {
  /** Seconds of load per case and server. */
  duration: number;
  /** Turns each server gets per case; `duration` is split over them. */
  turns: number;
  /** Seconds of unmeasured load before each measurement, so both servers are warm. */
  warmup: number;
  connections: number;
  signInConcurrency: number;
  stormPeople: number;
  /** Outbox events per relay turn. */
  relayEvents: number;
  /** Other people's connections while one person's events are timed, and connections of the broadcast. */
  fanoutConnections: number;
  only: Set<Part>;
  databaseUrl: string | null;
  adminDatabaseUrl: string;
  redisUrl: string;
  /** Write V8 CPU profiles of both servers here (node --cpu-prof), to find where the time goes. */
  profileDir: string | null;
  /** Print the hub's SQL statements per request for each case. */
  showQueries: boolean;
}

export const usage = `npm run bench -- [--duration 6] [--turns 3] [--warmup 1] [--connections 10] [--sign-in-concurrency 4]
                    [--storm-people 200] [--relay-events 20000] [--fanout-connections 10000] [--only ${parts.join(',')}] [--profile DIR] [--queries]
Environment: DATABASE_URL (default: a fresh database on postgres://postgres@127.0.0.1:5432, dropped at the end),
             REDIS_URL (default redis://127.0.0.1:6379).`;

function positive(name: string, value: string | undefined, fallback: number, { integer = true } = {}): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) throw new Error(`--${name} must be a positive ${integer ? 'integer' : 'number'}, got "${value}"`);
  return n;
}

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string' },
      turns: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      'sign-in-concurrency': { type: 'string' },
      'storm-people': { type: 'string' },
      'relay-events': { type: 'string' },
      'fanout-connections': { type: 'string' },
      only: { type: 'string' },
      profile: { type: 'string' },
      queries: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const only = new Set<Part>();
  for (const name of values.only?.split(',').map((s) => s.trim()).filter(Boolean) ?? parts) {
    if (!(parts as readonly string[]).includes(name)) throw new Error(`--only: unknown part "${name}"; choose from ${parts.join(', ')}`);
    only.add(name as Part);
  }
  return {
    duration: positive('duration', values.duration, 6, { integer: false }),
    turns: positive('turns', values.turns, 3),
    warmup: values.warmup === '0' ? 0 : positive('warmup', values.warmup, 1, { integer: false }),
    connections: positive('connections', values.connections, 10),
    signInConcurrency: positive('sign-in-concurrency', values['sign-in-concurrency'], 4),
    stormPeople: positive('storm-people', values['storm-people'], 200),
    relayEvents: positive('relay-events', values['relay-events'], 20_000),
    fanoutConnections: positive('fanout-connections', values['fanout-connections'], 10_000),
    only,
    databaseUrl: env.DATABASE_URL || null,
    adminDatabaseUrl: 'postgres://postgres@127.0.0.1:5432/postgres',
    redisUrl: env.REDIS_URL || 'redis://127.0.0.1:6379',
    profileDir: values.profile ? path.resolve(values.profile) : null,
    showQueries: values.queries ?? false,
  };
}
