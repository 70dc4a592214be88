import type { Knex } from 'knex';
import type { DatabaseTarget } from '../platform/config.ts';
import { listenForNotices } from '../db/notices.ts';
import type { Logger } from '../platform/logger.ts';

/** The channel the outbox trigger notifies at every commit that added events (migration 060). */
export const outboxChannel = 'uniqverse_outbox';

/**
 * Calls `onAppended` soon after any transaction that wrote to the outbox commits, on any instance
 * (Postgres NOTIFY), and once each time the listener (re)connects. Best effort: the relay also
 * polls, so a lost connection only costs latency.
 */
export function listenForAppends(db: Knex, target: DatabaseTarget, onAppended: () => void, logger: Logger): Promise<() => Promise<void>> {
  return listenForNotices(db, target, [outboxChannel], { onNotice: onAppended, onListening: onAppended }, logger);
}
