import type { Knex } from 'knex';
import pg from 'pg';
import type { DatabaseTarget } from '../platform/config.ts';
import type { Logger } from '../platform/logger.ts';

interface PGliteLike {
  listen(channel: string, callback: (payload: string) => void): Promise<() => Promise<void>>;
}

export interface NoticeHandlers {
  onNotice(channel: string, payload: string): void;
  /** Listening (again): notices sent while the connection was down are lost, so catch up here. */
  onListening?(): void;
  /** The connection dropped: until onListening, nothing is heard. */
  onLost?(): void;
}

/**
 * Postgres LISTEN on `channels`, on a connection of its own that reconnects every second while it
 * is down (PGlite: its in-process listen). Notices are delivered at commit, on any instance.
 */
export async function listenForNotices(db: Knex, target: DatabaseTarget, channels: string[], handlers: NoticeHandlers, logger: Logger): Promise<() => Promise<void>> {
  if (target.kind === 'pglite') {
    const pglite = (db.client as unknown as { pglite?: PGliteLike }).pglite;
    if (!pglite) return async () => undefined;
    const unlisteners = await Promise.all(channels.map((channel) => pglite.listen(channel, (payload) => handlers.onNotice(channel, payload))));
    handlers.onListening?.();
    return async () => {
      await Promise.all(unlisteners.map((unlisten) => unlisten().catch(() => undefined)));
    };
  }

  let client: pg.Client | null = null;
  let stopped = false;
  let retry: NodeJS.Timeout | null = null;
  const connect = async () => {
    const next = new pg.Client({ connectionString: target.url });
    next.on('notification', (message) => handlers.onNotice(message.channel, message.payload ?? ''));
    next.on('error', (error) => {
      logger.warn({ err: error, channels }, 'notice listener connection failed; reconnecting');
      void next.end().catch(() => undefined);
      if (client === next) {
        client = null;
        handlers.onLost?.();
      }
      schedule();
    });
    await next.connect();
    for (const channel of channels) await next.query(`listen ${channel}`);
    if (stopped) return void (await next.end().catch(() => undefined));
    client = next;
    handlers.onListening?.();
  };
  const schedule = () => {
    if (stopped || retry) return;
    retry = setTimeout(() => {
      retry = null;
      connect().catch((error) => {
        logger.warn({ err: error, channels }, 'notice listener could not connect; retrying');
        schedule();
      });
    }, 1000);
    retry.unref();
  };
  await connect().catch((error) => {
    logger.warn({ err: error, channels }, 'notice listener could not connect; retrying');
    schedule();
  });
  return async () => {
    stopped = true;
    if (retry) clearTimeout(retry);
    const last = client;
    client = null;
    await last?.end().catch(() => undefined);
  };
}
