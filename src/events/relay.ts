import type { Knex } from 'knex';
import type { Logger } from '../platform/logger.ts';
import type { EventBus } from './bus.ts';
import type { EventMetrics } from './metrics.ts';
import { toEnvelope, type HubEvent } from '../outbox/outbox.ts';
import { outboxQueries, type OutboxRow } from '../queries/outbox.ts';
import { PollingLoop } from './polling-loop.ts';
import { SpanKind } from '@opentelemetry/api';
import { inSpan } from '../platform/spans.ts';

/** What a round learnt from the database besides its rows. */
export interface RoundFacts {
  /** Migration 184's number: while it stays, so does the list of active webhooks. */
  webhookRoutingVersion: number;
  /** By name, the people of the batch each of the relay's `peopleFacts` selected. */
  people: Record<string, Set<string>>;
}

/** Durable work that must be recorded with the publication itself (webhook deliveries, subscriber tasks). */
export type AfterPublish = (trx: Knex, rows: OutboxRow[], events: HubEvent[], facts: RoundFacts) => Promise<void>;

export interface RelayOptions {
  db: Knex;
  bus: EventBus;
  logger: Logger;
  metrics: EventMetrics;
  afterPublish: AfterPublish;
  /** Run by the claim once per batch over its people, for the subscribers (see `outboxQueries.claimBatch`). */
  peopleFacts?: Record<string, (people: string) => string>;
  /** Called after a batch is committed (local workers wake up). */
  onCommitted?: (count: number) => void;
  batchSize?: number;
  pollMs?: number;
}

/**
 * Moves outbox rows to the stream. One round is one transaction: take unpublished rows and mark
 * them published in one statement (SKIP LOCKED, so several instances relay side by side without
 * waiting or sending twice; a person's rows that must wait for an earlier event of theirs are left
 * as they are), publish (one round trip to Redis for the whole batch), record the durable work,
 * commit. A failure or crash before the commit rolls the marks back and the rows are sent again:
 * consumers dedupe by event id.
 */
export class Relay {
  private readonly options: Required<Omit<RelayOptions, 'onCommitted' | 'peopleFacts'>> & Pick<RelayOptions, 'onCommitted' | 'peopleFacts'>;
  private readonly loop: PollingLoop;
  /**
   * The last round took a full batch, or left rows that wait for another relay's: more is
   * waiting, so the next round runs at once and skips the cheap look. Otherwise the next round
   * waits for a NOTIFY of new rows, or the poll.
   */
  private behind = false;

  constructor(options: RelayOptions) {
    this.options = { batchSize: 5000, pollMs: 100, ...options };
    this.loop = new PollingLoop({
      round: async (nudged) => {
        await this.runOnce(nudged);
        return this.behind;
      },
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
      const claim = await outboxQueries.claimBatch(trx, batchSize, this.options.peopleFacts);
      const rows = claim.rows;
      this.behind = claim.batchCount === batchSize || claim.batchCount > rows.length;
      if (!rows.length || claim.webhookRoutingVersion === null) return [];
      span.setAttribute('messaging.batch.message_count', rows.length);
      const events = rows.map(toEnvelope);
      await bus.publish(events);
      await afterPublish(trx, rows, events, { webhookRoutingVersion: claim.webhookRoutingVersion, people: claim.people });
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
