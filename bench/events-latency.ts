/**
 * Event delivery benchmark (not a test; bounded in time):
 *  - latency from a change (its transaction commits) to each of N SSE clients, p50 / p99, for
 *    N = 1,000 and 10,000 connections of one person;
 *  - events per second through the relay (outbox → stream → marked), in-process bus and Redis.
 *
 *   npx node bench/events-latency.ts [--clients 1000,10000] [--ticks 20] [--relay 20000]
 *
 * The hub runs in this process on embedded PGlite (or BENCH_DATABASE_URL), with the in-process
 * bus (or BENCH_REDIS_URL); the clients run in a child process. Prints a markdown table.
 */
import { fork } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as jose from 'jose';
import { loadConfig } from '../src/platform/config.ts';
import { appendEvent } from '../src/outbox/outbox.ts';
import { startHub, type Hub } from '../src/app/start.ts';
import { createUser } from '../src/identity/users.ts';
import { loadKeySet } from '../src/oidc/signing-keys.ts';

const { values } = parseArgs({
  options: { clients: { type: 'string', default: '1000,10000' }, ticks: { type: 'string', default: '20' }, relay: { type: 'string', default: '20000' } },
});
const log = (line: string) => process.stderr.write(`${line}\n`);
const clientCounts = values.clients!.split(',').map(Number);
const ticks = Number(values.ticks);
const relayEvents = Number(values.relay);

async function start(redis: boolean): Promise<{ hub: Hub; cleanup(): Promise<void> }> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'uq-bench-events-'));
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    UNIQVERSE_SECRET: randomBytes(32).toString('base64url'),
    ...(process.env.BENCH_DATABASE_URL ? { DATABASE_URL: process.env.BENCH_DATABASE_URL } : {}),
    ...(redis && process.env.BENCH_REDIS_URL ? { REDIS_URL: process.env.BENCH_REDIS_URL, REDIS_PREFIX: `uqbench:${randomBytes(4).toString('hex')}:` } : {}),
  });
  if (!process.env.BENCH_DATABASE_URL) config.database = { kind: 'pglite', dir: null };
  const hub = await startHub(config);
  return { hub, cleanup: async () => (await hub.close(), rmSync(dataDir, { recursive: true, force: true })) };
}

/** A hub access token for the person, signed with the hub's own ES256 key (what a sign-in would give). */
async function tokenFor(hub: Hub, sub: string): Promise<string> {
  const keys = await loadKeySet(hub.db, hub.secrets.keys);
  const jwk = keys.jwks.keys.find((k) => k.alg === 'ES256')!;
  const key = await jose.importJWK(jwk as jose.JWK, 'ES256');
  return new jose.SignJWT({ client_id: 'bench', scope: 'hub' })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: jwk.kid as string })
    .setIssuer(hub.url)
    .setAudience(`${hub.url}/hub`)
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime('1h')
    .setJti(randomUUID())
    .sign(key);
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function latency(clients: number) {
  const { hub, cleanup } = await start(true);
  try {
    const person = await createUser(hub.db, hub.hasher, { email: 'bench@example.test', password: 'correct horse battery staple', name: 'Bench' });
    const token = await tokenFor(hub, person.id);
    const child = fork(path.join(import.meta.dirname, 'events-clients.ts'), [hub.url, token, String(clients)], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const messages: Array<{ kind: string; [key: string]: unknown }> = [];
    child.on('message', (m) => messages.push(m as never));
    const next = async (kind: string) => {
      for (;;) {
        const found = messages.find((m) => m.kind === kind);
        if (found) return found;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    const connecting = performance.now();
    const ready = await next('ready');
    log(`  ${ready.ready} of ${clients} connected in ${Math.round(performance.now() - connecting)} ms (${ready.failed} failed); live connections: ${hub.events.live.connectionCount}`);
    const sent: number[] = [];
    for (let tick = 0; tick < ticks; tick++) {
      await hub.db.transaction((trx) => appendEvent(trx, { type: 'bench.tick', userId: person.id, data: { tick } }));
      sent[tick] = performance.timeOrigin + performance.now();
      // Space the changes so that each one's fan-out is measured on its own.
      await new Promise((resolve) => setTimeout(resolve, clients >= 5000 ? 400 : 150));
    }
    await new Promise((resolve) => setTimeout(resolve, 1500));
    child.send({ kind: 'report' });
    const { received } = (await next('report')) as unknown as { received: number[][] };
    const latencies: number[] = [];
    let missing = 0;
    for (let tick = 0; tick < ticks; tick++) {
      const arrivals = received[tick] ?? [];
      missing += Number(ready.ready) - arrivals.length;
      for (const at of arrivals) latencies.push(at - sent[tick]!);
    }
    latencies.sort((a, b) => a - b);
    return { clients, connected: Number(ready.ready), deliveries: latencies.length, missing, p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1)! };
  } finally {
    await cleanup();
  }
}

async function relayThroughput(redis: boolean) {
  const { hub, cleanup } = await start(redis);
  try {
    const person = await createUser(hub.db, hub.hasher, { email: 'relay@example.test', password: 'correct horse battery staple', name: 'Relay' });
    await hub.events.relay.stop();
    for (let done = 0; done < relayEvents; done += 1000) {
      const rows = Array.from({ length: Math.min(1000, relayEvents - done) }, (_, i) => ({
        id: randomUUID(), type: 'bench.relay', occurred_at: new Date(), user_id: person.id, data: { n: done + i },
      }));
      await hub.db('outbox').insert(rows);
    }
    const started = performance.now();
    hub.events.relay.start();
    for (;;) {
      const row = await hub.db('outbox').whereNull('published_at').count('* as n').first();
      if (Number(row?.n) === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const seconds = (performance.now() - started) / 1000;
    return { bus: hub.events.bus.kind, events: relayEvents, seconds, perSecond: relayEvents / seconds };
  } finally {
    await cleanup();
  }
}

const database = process.env.BENCH_DATABASE_URL ? 'Postgres' : 'PGlite (embedded)';
const bus = process.env.BENCH_REDIS_URL ? 'Redis Stream' : 'in-process bus';
log(`events benchmark: ${database}, ${bus}, ${ticks} changes per run`);
const rows = [];
for (const clients of clientCounts) {
  log(`latency with ${clients} SSE clients…`);
  rows.push(await latency(clients));
}
const relays = [];
for (const redis of process.env.BENCH_REDIS_URL ? [false, true] : [false]) {
  log(`relay throughput (${redis ? 'Redis' : 'in-process'})…`);
  relays.push(await relayThroughput(redis));
}

const ms = (value: number) => `${value.toFixed(1)} ms`;
console.log(`Delivery latency, change committed → SSE client (${database}, ${bus}; hub and clients on one machine):\n`);
console.log('| SSE clients | connected | deliveries | missed | p50 | p99 | max |');
console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) console.log(`| ${r.clients.toLocaleString('en')} | ${r.connected.toLocaleString('en')} | ${r.deliveries.toLocaleString('en')} | ${r.missing} | ${ms(r.p50)} | ${ms(r.p99)} | ${ms(r.max)} |`);
console.log(`\nRelay throughput (${database}), ${relayEvents.toLocaleString('en')} waiting events:\n`);
console.log('| bus | events | seconds | events/s |');
console.log('| --- | ---: | ---: | ---: |');
for (const r of relays) console.log(`| ${r.bus} | ${r.events.toLocaleString('en')} | ${r.seconds.toFixed(2)} | ${Math.round(r.perSecond).toLocaleString('en')} |`);
process.exit(0);
