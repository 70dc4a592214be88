import type { Knex } from 'knex';
import { AppError } from '../platform/errors.ts';
import type { Logger } from '../platform/logger.ts';
import type { EventMetrics } from './metrics.ts';
import { PollingLoop } from './polling-loop.ts';
import type { HubEvent } from '../outbox/outbox.ts';

/**
 * A subscriber of the hub's own whose effect must happen exactly once (provisioning). `handle`
 * gets the transaction that also retires the task: its writes commit if and only if the task is
 * done, whichever instance runs it, however often the event was published.
 */
export interface EventConsumer {
  name: string;
  types: readonly string[];
  handle(trx: Knex, event: HubEvent): Promise<void>;
}

interface TaskRow {
  consumer: string;
  event_id: string;
  event_seq: number;
  event: HubEvent;
  attempts: number;
}

export const taskQueries = {
  enqueue: async (trx: Knex, rows: Array<{ consumer: string; event: HubEvent; seq: number }>) => {
    if (!rows.length) return;
    await trx('event_tasks')
      .insert(rows.map((r) => ({ consumer: r.consumer, event_id: r.event.id, event_seq: r.seq, event: r.event })))
      .onConflict(['consumer', 'event_id'])
      .ignore();
  },
  due: (db: Knex, limit: number): Promise<Array<Pick<TaskRow, 'consumer' | 'event_id'>>> =>
    db('event_tasks').where('next_attempt_at', '<=', db.fn.now()).orderBy('event_seq').limit(limit).select('consumer', 'event_id'),
  /** Takes the task for this transaction, or nothing if another instance holds or finished it. */
  take: (trx: Knex, consumer: string, eventId: string): Promise<TaskRow | undefined> =>
    trx('event_tasks').where({ consumer, event_id: eventId }).where('next_attempt_at', '<=', trx.fn.now()).forUpdate().skipLocked().first(),
  finish: (trx: Knex, consumer: string, eventId: string) => trx('event_tasks').where({ consumer, event_id: eventId }).delete(),
  postpone: (db: Knex, consumer: string, eventId: string, error: string) =>
    db('event_tasks')
      .where({ consumer, event_id: eventId })
      .update({
        attempts: db.raw('attempts + 1'),
        last_error: error.slice(0, 1000),
        // 2 s, 4 s, 8 s … at most 10 minutes apart.
        next_attempt_at: db.raw(`now() + least(power(2, attempts + 1), 600) * interval '1 second'`),
      }),
  pending: (db: Knex, consumer?: string) => {
    const query = db('event_tasks').orderBy('event_seq').select('consumer', 'event_id', 'attempts', 'last_error', 'next_attempt_at');
    if (consumer) query.where({ consumer });
    return query;
  },
};

/** What the relay records for the consumers, in its own transaction. */
export function taskEnqueuer(consumers: readonly EventConsumer[]) {
  return async (trx: Knex, events: HubEvent[], seqs: number[]) => {
    const rows = [];
    for (const [i, event] of events.entries()) {
      for (const consumer of consumers) if (consumer.types.includes(event.type)) rows.push({ consumer: consumer.name, event, seq: seqs[i]! });
    }
    await taskQueries.enqueue(trx, rows);
  };
}

export interface TaskWorkerOptions {
  db: Knex;
  consumers: readonly EventConsumer[];
  logger: Logger;
  metrics: EventMetrics;
  pollMs?: number;
}

/** Runs due tasks on every instance; the row lock (SKIP LOCKED) keeps two instances off one task. */
export class TaskWorker {
  private readonly options: TaskWorkerOptions;
  private readonly loop: PollingLoop;

  constructor(options: TaskWorkerOptions) {
    this.options = options;
    this.loop = new PollingLoop({
      round: async () => (await this.runOnce()) > 0,
      pollMs: options.pollMs ?? 1000,
      logger: options.logger,
      failure: 'event subscriber round failed',
    });
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  nudge(): void {
    this.loop.nudge();
  }

  /** Runs what is due now; returns how many tasks it finished. */
  async runOnce(): Promise<number> {
    const { db, consumers, logger, metrics } = this.options;
    let finished = 0;
    for (const task of await taskQueries.due(db, 100)) {
      if (!this.loop.running && finished) break;
      const consumer = consumers.find((c) => c.name === task.consumer);
      if (!consumer) continue;
      try {
        const done = await db.transaction(async (trx) => {
          const row = await taskQueries.take(trx, task.consumer, task.event_id);
          if (!row) return false;
          await consumer.handle(trx, row.event);
          await taskQueries.finish(trx, task.consumer, task.event_id);
          return true;
        });
        if (done) {
          finished++;
          metrics.taskRuns.inc({ consumer: consumer.name, outcome: 'done' });
        }
      } catch (error) {
        // A 4xx-type failure will not go away by retrying (the person or service is gone): retire the task.
        if (error instanceof AppError && error.status < 500) {
          logger.warn({ err: error, consumer: consumer.name, event: task.event_id }, 'event subscriber refused an event; dropping it');
          await db('event_tasks').where({ consumer: task.consumer, event_id: task.event_id }).delete();
          metrics.taskRuns.inc({ consumer: consumer.name, outcome: 'refused' });
        } else {
          logger.error({ err: error, consumer: consumer.name, event: task.event_id }, 'event subscriber failed; will retry');
          await taskQueries.postpone(db, task.consumer, task.event_id, (error as Error).message ?? String(error));
          metrics.taskRuns.inc({ consumer: consumer.name, outcome: 'failed' });
        }
      }
    }
    return finished;
  }
}
