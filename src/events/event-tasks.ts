import type { Knex } from 'knex';
import { AppError } from '../platform/errors.ts';
import type { Logger } from '../platform/logger.ts';
import type { EventMetrics } from './metrics.ts';
import { PollingLoop } from './polling-loop.ts';
import type { HubEvent } from '../outbox/outbox.ts';
import { taskQueries } from '../queries/event-tasks.ts';

/**
 * A subscriber of the hub's own whose effect must happen exactly once (provisioning). `handle`
 * gets the transaction that also retires the task: its writes commit if and only if the task is
 * done, whichever instance runs it, however often the event was published.
 */
export interface EventConsumer {
  name: string;
  types: readonly string[];
  /** Takes events beyond `types` too (a family of types no list can name, such as the services' own). */
  accepts?(event: HubEvent): boolean;
  handle(trx: Knex, event: HubEvent): Promise<void>;
  /**
   * Which people a task is worth making for: SQL that selects, of the people in `people` (an SQL
   * `uuid[]` expression: the people of a relayed batch), those it holds for. The relay's claim
   * reads it once per batch, in the same statement, so it costs no round trip. The push
   * subscriber's tasks for people with no device to push to would each be a transaction of several
   * statements that does nothing (most sign-ins).
   */
  peopleWorthATask?: (people: string) => string;
  /** Of the events it takes, whether this one is worth a task; `worth`: its person is among `peopleWorthATask`'s. */
  worthATask?(event: HubEvent, worth: boolean): boolean;
}

/** The people-selecting SQL the relay's claim runs for the consumers, by consumer name. */
export const peopleFactsOf = (consumers: readonly EventConsumer[]): Record<string, (people: string) => string> =>
  Object.fromEntries(consumers.flatMap((consumer) => (consumer.peopleWorthATask ? [[consumer.name, consumer.peopleWorthATask]] : [])));

/**
 * What the relay records for the consumers, in its own transaction; how many tasks it made.
 * `worth`: by consumer name, the people its `peopleWorthATask` selected among the batch's.
 */
export function taskEnqueuer(consumers: readonly EventConsumer[]) {
  return async (trx: Knex, events: HubEvent[], seqs: number[], worth: Readonly<Record<string, ReadonlySet<string>>> = {}) => {
    const rows = [];
    for (const consumer of consumers) {
      for (const [i, event] of events.entries()) {
        if (!consumer.types.includes(event.type) && !consumer.accepts?.(event)) continue;
        if (consumer.worthATask && !consumer.worthATask(event, Boolean(event.user_id && worth[consumer.name]?.has(event.user_id)))) continue;
        rows.push({ consumer: consumer.name, event, seq: seqs[i]! });
      }
    }
    await taskQueries.enqueue(trx, rows);
    return rows.length;
  };
}

export interface TaskWorkerOptions {
  db: Knex;
  consumers: readonly EventConsumer[];
  logger: Logger;
  metrics: EventMetrics;
  pollMs?: number;
  /** Called after a round that finished tasks (the push worker may have deliveries to send). */
  onFinished?: () => void;
}

/** Runs due tasks on every instance; the row lock (SKIP LOCKED) keeps two instances off one task. */
export class TaskWorker {
  private readonly options: TaskWorkerOptions;
  private readonly loop: PollingLoop;

  constructor(options: TaskWorkerOptions) {
    this.options = options;
    this.loop = new PollingLoop({
      round: async () => {
        const finished = await this.runOnce();
        if (finished > 0) options.onFinished?.();
        return finished > 0;
      },
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
          await taskQueries.finish(db, task.consumer, task.event_id);
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
