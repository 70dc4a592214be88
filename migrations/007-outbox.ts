import type { Knex } from 'knex';

/** Events written in the same transaction as the change they describe; the relay publishes them. */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('outbox', (t) => {
    t.bigIncrements('seq').primary();
    t.uuid('id').notNullable().unique();
    t.text('type').notNullable();
    t.timestamp('occurred_at', { useTz: true }).notNullable();
    t.uuid('user_id');
    t.text('service');
    t.jsonb('data').notNullable();
    t.timestamp('published_at', { useTz: true });
  });
  await db.raw('create index outbox_unpublished on outbox (seq) where published_at is null');
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('outbox');
}
