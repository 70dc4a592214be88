import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import { loadConfig, type Config, type DatabaseTarget } from '../../src/config/config.ts';
import { startHub, type Hub } from '../../src/hub.ts';
import type { Logger } from '../../src/observability/logger.ts';
import { testDatabase, testRedisPrefix, testRedisUrl } from './backend.ts';

export interface TestHubOptions {
  env?: Record<string, string>;
  /** Share a database with another hub (scale-out tests). */
  database?: DatabaseTarget;
  secret?: string;
  /** The hub's logger (a test that reads the log passes one writing to a stream). */
  logger?: Logger;
}

/** Starts a hub of this test's own on a free port, with its own database, closed when the test ends. */
export async function startTestHub(t: ExecutionContext, options: TestHubOptions = {}): Promise<Hub> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'uq-test-'));
  const config: Config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    UNIQVERSE_SECRET: options.secret ?? randomBytes(32).toString('base64url'),
    ...(testRedisUrl ? { REDIS_URL: testRedisUrl, REDIS_PREFIX: testRedisPrefix() } : {}),
    ...options.env,
  });
  config.database = options.database ?? (await testDatabase(t));
  const hub = await startHub(config, options.logger ? { logger: options.logger } : {});
  t.teardown(async () => {
    await hub.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  return hub;
}
