import type { Knex } from 'knex';
import pg from 'pg';
import type { DatabaseTarget } from '../config/config.ts';
import type { Logger } from '../observability/logger.ts';

/** The channel the outbox trigger notifies at every commit that added events (migration 060). */
export const outboxChannel = 'uniqverse_outbox';

interface PGliteLike {
  listen(channel: string, callback: (payload: string) => void): Promise<() => Promise<void>>;
}

/**
 * Calls `onAppended` soon after any transaction that wrote to the outbox commits, on any instance
 * (Postgres NOTIFY). Best effort: the relay also polls, so a lost connection only costs latency.
 */
export async function listenForAppends(db: Knex, target: DatabaseTarget, onAppended: () => void, logger: Logger): Promise<() => Promise<void>> {
  if (target.kind === 'pglite') {
    const pglite = (db.client as unknown as { pglite?: PGliteLike }).pglite;
    if (!pglite) return async () => undefined;
    const unlisten = await pglite.listen(outboxChannel, onAppended);
    return () => unlisten().catch(() => undefined);
  }

  let client: pg.Client | null = null;
  let stopped = false;
  let retry: NodeJS.Timeout | null = null;
  const connect = async () => {
    const next = new pg.Client({ connectionString: target.url });
    next.on('notification', () => onAppended());
    next.on('error', (error) => {
      logger.warn({ err: error }, 'outbox listener connection failed; reconnecting');
      void next.end().catch(() => undefined);
      if (client === next) client = null;
      schedule();
    });
    await next.connect();
    await next.query(`listen ${outboxChannel}`);
    if (stopped) return void (await next.end().catch(() => undefined));
    client = next;
    onAppended();
  };
  const schedule = () => {
    if (stopped || retry) return;
    retry = setTimeout(() => {
      retry = null;
      connect().catch((error) => {
        logger.warn({ err: error }, 'outbox listener could not connect; retrying');
        schedule();
      });
    }, 1000);
    retry.unref();
  };
  await connect().catch((error) => {
    logger.warn({ err: error }, 'outbox listener could not connect; relying on polling');
    schedule();
  });
  return async () => {
    stopped = true;
    if (retry) clearTimeout(retry);
    await client?.end().catch(() => undefined);
  };
}
