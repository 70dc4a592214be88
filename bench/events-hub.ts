import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startHub, type Hub } from '../src/app/start.ts';
import { loadConfig } from '../src/platform/config.ts';
import { benchDatabase } from './backends.ts';

/**
 * A hub in this process on a fresh PostgreSQL database of its own (dropped at the end) and the
 * run's Redis prefix: what the relay and live fan-out benches drive directly.
 */
export async function startEventsHub(options: { adminDatabaseUrl: string; redisUrl: string; redisPrefix: string; env?: Record<string, string> }): Promise<{ hub: Hub; stop(): Promise<void> }> {
  const database = await benchDatabase(null, options.adminDatabaseUrl);
  const dataDir = mkdtempSync(path.join(tmpdir(), 'uq-bench-events-'));
  let hub: Hub;
  try {
    hub = await startHub(
      loadConfig({
        PORT: '0',
        HOST: '127.0.0.1',
        DATA_DIR: dataDir,
        LOG_LEVEL: 'warn',
        UNIQVERSE_SECRET: randomBytes(32).toString('base64url'),
        DATABASE_URL: database.url,
        REDIS_URL: options.redisUrl,
        REDIS_PREFIX: options.redisPrefix,
        ...options.env,
      }),
    );
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    await database.release();
    throw error;
  }
  return {
    hub,
    async stop() {
      await hub.close();
      rmSync(dataDir, { recursive: true, force: true });
      await database.release();
    },
  };
}
