import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('clients', (t) => {
    t.text('client_id').primary();
    t.uuid('service_id').references('services.id').onDelete('CASCADE');
    t.text('type').notNullable();
    // Sealed with the master secret: the provider needs the plain secret for client_secret_basic/jwt.
    t.text('client_secret_sealed');
    t.jsonb('metadata').notNullable();
    t.timestamps(true, true, false);
    t.index(['service_id']);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('clients');
}
