import type { Knex } from 'knex';
import type { HubEvent } from './outbox.ts';

/** An event a hub subscriber of its own still has to handle (src/events/event-tasks.ts). */
export interface TaskRow {
  consumer: string;
  event_id: string;
  event_seq: number;
  event: HubEvent;
  attempts: number;
}

const containing = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

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
  /** Retires the task: done, or refused for good. */
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
  /** Tasks whose event is about a person or holds one of `texts`: what erasure rewrites. */
  mentioning: (trx: Knex, userId: string, texts: string[]): Promise<Array<Pick<TaskRow, 'consumer' | 'event_id' | 'event'>>> =>
    trx('event_tasks')
      .where((w) => {
        w.whereRaw("event->>'user_id' = ?", [userId]);
        for (const text of texts) w.orWhereRaw('event::text ilike ?', [containing(text)]);
      })
      .select('consumer', 'event_id', 'event'),
  replaceEvent: (trx: Knex, consumer: string, eventId: string, event: unknown) => trx('event_tasks').where({ consumer, event_id: eventId }).update({ event: JSON.stringify(event) }),
  pending: (db: Knex, consumer?: string) => {
    const query = db('event_tasks').orderBy('event_seq').select('consumer', 'event_id', 'attempts', 'last_error', 'next_attempt_at');
    if (consumer) query.where({ consumer });
    return query;
  },
};
