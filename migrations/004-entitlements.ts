import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('entitlements', (t) => {
    t.uuid('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.uuid('service_id').notNullable().references('services.id').onDelete('CASCADE');
    t.text('tier').notNullable();
    t.timestamp('expires_at', { useTz: true });
    t.timestamps(true, true, false);
    t.primary(['user_id', 'service_id']);
    t.index(['service_id']);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('entitlements');
}
