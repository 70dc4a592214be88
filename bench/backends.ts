import { randomBytes } from 'node:crypto';
import knexFactory from 'knex';
import { Redis } from 'ioredis';

export interface BenchDatabase {
  url: string;
  /** Drops the database if this run created it. */
  release(): Promise<void>;
}

/** DATABASE_URL as given, or a fresh database of this run's own on the local server. */
export async function benchDatabase(given: string | null, adminUrl: string): Promise<BenchDatabase> {
  if (given) return { url: given, release: async () => undefined };
  const name = `uq_bench_${randomBytes(5).toString('hex')}`;
  const admin = knexFactory({ client: 'pg', connection: adminUrl, pool: { min: 0, max: 1 } });
  try {
    await admin.raw(`create database ${name}`);
  } finally {
    await admin.destroy();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async release() {
      const cleanup = knexFactory({ client: 'pg', connection: adminUrl, pool: { min: 0, max: 1 } });
      try {
        await cleanup.raw(`drop database if exists ${name} with (force)`);
      } finally {
        await cleanup.destroy();
      }
    },
  };
}

/**
 * The Redis server's version and process id (its CPU is read from /proc when it runs on this
 * machine), and a key prefix of this run's own that `forget` deletes afterwards.
 */
export async function benchRedis(url: string): Promise<{ prefix: string; version: string; pid: number | null; forget(): Promise<void> }> {
  const prefix = `uqbench:${randomBytes(5).toString('hex')}:`;
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  const info = await redis.info('server');
  const version = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  // Its pid names a process of this machine only when it runs here.
  const local = ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(url).hostname);
  const pid = local ? Number(/process_id:(\d+)/.exec(info)?.[1]) || null : null;
  await redis.quit();
  return {
    prefix,
    version,
    pid,
    async forget() {
      const client = new Redis(url, { maxRetriesPerRequest: 1 });
      try {
        let cursor = '0';
        do {
          const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
          if (keys.length) await client.del(...keys);
          cursor = next;
        } while (cursor !== '0');
      } finally {
        await client.quit();
      }
    },
  };
}

export async function postgresVersion(url: string): Promise<string> {
  const db = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 1 } });
  try {
    const { rows } = await db.raw('show server_version');
    return String(rows[0].server_version);
  } finally {
    await db.destroy();
  }
}
