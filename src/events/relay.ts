import type { Knex } from 'knex';
import type { Logger } from '../platform/logger.ts';
import type { EventBus } from './bus.ts';
import type { EventMetrics } from './metrics.ts';
import { toEnvelope, type HubEvent } from '../outbox/outbox.ts';
import { outboxQueries, type OutboxRow } from '../queries/outbox.ts';
import { PollingLoop } from './polling-loop.ts';
import { SpanKind } from '@opentelemetry/api';
import { inSpan } from '../platform/spans.ts';

/** Durable work that must be recorded with the publication itself (webhook deliveries, subscriber tasks). */
export type AfterPublish = (trx: Knex, rows: OutboxRow[], events: HubEvent[]) => Promise<void>;

export interface RelayOptions {
  db: Knex;
  bus: EventBus;
  logger: Logger;
  metrics: EventMetrics;
  afterPublish: AfterPublish;
  /** Called after a batch is committed (local workers wake up). */
  onCommitted?: (count: number) => void;
  batchSize?: number;
  pollMs?: number;
}

/** Keeps a person's events in order: drops from the batch what follows an event of theirs that someone else holds. */
function inPersonOrder(rows: OutboxRow[], blockedFrom: Map<string, number>): OutboxRow[] {
  if (!blockedFrom.size) return rows;
  return rows.filter((row) => {
    const blocked = row.user_id ? blockedFrom.get(row.user_id) : undefined;
    return blocked === undefined || row.seq < blocked;
  });
}

/**
 * Moves outbox rows to the stream. One round is one transaction: take unpublished rows and mark
 * them published in one statement (SKIP LOCKED, so several instances relay side by side without
 * waiting or sending twice), give back those that must wait for an earlier event of their person,
 * publish (one round trip to Redis for the whole batch), record the durable work, commit. A
 * failure or crash before the commit rolls the marks back and the rows are sent again: consumers
 * dedupe by event id.
 */
export class Relay {
  private readonly options: Required<Omit<RelayOptions, 'onCommitted'>> & Pick<RelayOptions, 'onCommitted'>;
  private readonly loop: PollingLoop;
  /** The last round took a full batch: more is waiting, so the next one skips the cheap look. */
  private behind = false;

  constructor(options: RelayOptions) {
    this.options = { batchSize: 5000, pollMs: 100, ...options };
    this.loop = new PollingLoop({
      round: async (nudged) => (await this.runOnce(nudged)) > 0,
      pollMs: this.options.pollMs,
      failureDelayMs: 1000,
      logger: this.options.logger,
      failure: 'event relay round failed; retrying',
    });
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** Something was appended (a NOTIFY at commit, or this process): relay now rather than at the next poll. */
  nudge(): void {
    this.loop.nudge();
  }

  /**
   * One round; returns how many events it published. `nudged`: something was appended (a NOTIFY),
   * so the cheap look that spares an idle poll its transaction is skipped: one round trip less
   * between a commit and its live delivery.
   */
  async runOnce(nudged = false): Promise<number> {
    const { db, bus, afterPublish, metrics, batchSize } = this.options;
    if (!this.behind && !nudged && !(await outboxQueries.anyUnpublished(db))) return 0;
    this.behind = false;
    // A trace of its own: a batch holds events of many requests, long gone by now.
    const batchSpan = { root: true, kind: SpanKind.PRODUCER, attributes: { 'messaging.system': bus.kind === 'redis' ? 'redis' : 'in-process', 'messaging.operation.type': 'publish' } };
    const published = await inSpan('relay publish', batchSpan, (span) => db.transaction(async (trx) => {
      const claimed = await outboxQueries.claimUnpublished(trx, batchSize);
      if (!claimed.length) return [];
      this.behind = claimed.length === batchSize;
      const users = [...new Set(claimed.map((r) => r.user_id).filter((u): u is string => u !== null))];
      const rows = inPersonOrder(claimed, await outboxQueries.earlierUnpublished(trx, users, claimed.map((r) => r.seq)));
      if (rows.length < claimed.length) {
        const kept = new Set(rows.map((r) => r.seq));
        await outboxQueries.unclaim(trx, claimed.filter((r) => !kept.has(r.seq)).map((r) => r.seq));
      }
      if (!rows.length) return [];
      span.setAttribute('messaging.batch.message_count', rows.length);
      const events = rows.map(toEnvelope);
      await bus.publish(events);
      // After the publish, so that it costs the live delivery no round trip.
      await outboxQueries.relaxCommit(trx);
      await afterPublish(trx, rows, events);
      return rows;
    }));
    if (published.length) {
      const now = Date.now();
      metrics.relayed.inc(published.length);
      for (const row of published) metrics.publishDelay.observe(Math.max(0, now - new Date(row.created_at).getTime()) / 1000);
      this.options.onCommitted?.(published.length);
    }
    return published.length;
  }
}
