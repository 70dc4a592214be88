/**
 * A hub in a child process of its own, for the crash test: it starts on the DATA_DIR /
 * DATABASE_URL / REDIS_URL it is given and prints "READY <url>" once it serves.
 */
import { loadConfig } from '../../src/platform/config.ts';
import { startHub } from '../../src/app/start.ts';

const hub = await startHub(loadConfig(process.env));
process.stdout.write(`READY ${hub.url}\n`);
process.once('SIGTERM', () => {
  void hub.close().then(() => process.exit(0));
});
