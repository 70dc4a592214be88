import type { Knex } from 'knex';

/** A service's webhook endpoints. The signing secret is sealed with the master secret: we must sign with it. */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('webhooks', (t) => {
    t.uuid('id').primary().defaultTo(db.raw('gen_random_uuid()'));
    t.uuid('service_id').notNullable().references('services.id').onDelete('CASCADE');
    t.text('url').notNullable();
    t.text('secret_sealed').notNullable();
    // Null: every event the service may receive; otherwise types or "prefix.*" patterns.
    t.specificType('event_types', 'text[]');
    t.text('status').notNullable().defaultTo('active');
    t.timestamps(true, true, false);
    t.index(['service_id']);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('webhooks');
}
