import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { ExecutionContext } from 'ava';
import { loadConfig, type Config, type DatabaseTarget } from '../../src/platform/config.ts';
import { startHub, type Hub } from '../../src/app/start.ts';
import { createLogger, type Logger } from '../../src/platform/logger.ts';
import { testDatabase, testRedisPrefix, testRedisUrl } from './backend.ts';

export interface TestHubOptions {
  env?: Record<string, string>;
  /** Share a database with another hub (scale-out tests). */
  database?: DatabaseTarget;
  secret?: string;
  /** The hub's logger (a test that reads the log passes one writing to a stream). */
  logger?: Logger;
}

/**
 * The hub's warnings and errors, kept in memory (the last 200 lines) and shown only when the test
 * fails: a flaky failure then says what the hub saw. TEST_LOG_LEVEL sets the level (default warn).
 */
function failureLog(t: ExecutionContext): Logger {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString().trimEnd());
      if (lines.length > 200) lines.shift();
      done();
    },
  });
  t.teardown(() => {
    if (!t.passed && lines.length) console.error(`--- the hub's log (${t.title}):\n${lines.join('\n')}`);
  });
  return createLogger(process.env.TEST_LOG_LEVEL ?? 'warn', sink);
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
  const hub = await startHub(config, { logger: options.logger ?? failureLog(t) });
  t.teardown(async () => {
    await hub.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  return hub;
}
