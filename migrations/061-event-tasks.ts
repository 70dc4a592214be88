import type { Knex } from 'knex';

/**
 * Work for the hub's own durable subscribers (provisioning): the relay adds a row in the same
 * transaction that marks the event published; the subscriber deletes it in the same transaction
 * as its effect. The key (consumer, event_id) makes the effect happen once.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('event_tasks', (t) => {
    t.text('consumer').notNullable();
    t.uuid('event_id').notNullable();
    t.bigInteger('event_seq').notNullable();
    t.jsonb('event').notNullable();
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('next_attempt_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.text('last_error');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.primary(['consumer', 'event_id']);
    t.index(['next_attempt_at', 'event_seq']);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('event_tasks');
}
