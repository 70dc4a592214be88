import type { Knex } from 'knex';

/**
 * One row per (webhook, event), written by the relay with the event's publication; workers on
 * any instance lease rows (SKIP LOCKED), deliver, and record every attempt.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('webhook_deliveries', (t) => {
    t.bigIncrements('id').primary();
    t.uuid('webhook_id').notNullable().references('webhooks.id').onDelete('CASCADE');
    t.uuid('event_id').notNullable();
    t.bigInteger('event_seq').notNullable();
    t.text('event_type').notNullable();
    // Deliveries with the same key go out one at a time, in event order: the person, or '' for none.
    t.text('ordering_key').notNullable();
    t.jsonb('payload').notNullable();
    t.text('status').notNullable().defaultTo('pending');
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('next_attempt_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.text('lease_owner');
    t.timestamp('lease_until', { useTz: true });
    t.integer('last_status');
    t.text('last_error');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.timestamp('delivered_at', { useTz: true });
    // A replayed delivery gets another day of retries from here.
    t.timestamp('replayed_at', { useTz: true });
    t.unique(['webhook_id', 'event_id']);
    t.index(['webhook_id', 'id']);
  });
  await db.raw(`create index webhook_deliveries_due on webhook_deliveries (next_attempt_at) where status = 'pending'`);
  await db.raw(`create index webhook_deliveries_order on webhook_deliveries (webhook_id, ordering_key, event_seq) where status = 'pending'`);
  await db.schema.createTable('webhook_attempts', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('delivery_id').notNullable().references('webhook_deliveries.id').onDelete('CASCADE');
    t.timestamp('attempted_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.integer('status_code');
    t.text('error');
    t.integer('duration_ms').notNullable();
    t.index(['delivery_id']);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('webhook_attempts');
  await db.schema.dropTable('webhook_deliveries');
}
