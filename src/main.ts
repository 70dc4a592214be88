import { ConfigError, loadConfig } from './platform/config.ts';
import { DatabaseInUseError } from './db/directory-lock.ts';
import { startHub } from './app/start.ts';

try {
  const hub = await startHub(loadConfig());
  const stop = async (signal: string) => {
    hub.logger.info({ signal }, 'shutting down');
    await hub.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  console.log(`\n  UniQVerse is running at ${hub.url}\n  Discovery: ${hub.url}/.well-known/openid-configuration\n  Account:   ${hub.url}/account\n`);
} catch (error) {
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
