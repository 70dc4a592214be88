import type { Knex } from 'knex';

/**
 * "Continue on another device": an item a device or service offers to the person's other
 * devices (a URL or deep link of its service), taken once, within at most ten minutes.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('handoffs', (t) => {
    t.uuid('id').primary().defaultTo(db.raw('gen_random_uuid()'));
    t.uuid('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.uuid('service_id').references('services.id').onDelete('CASCADE');
    t.text('client_id').notNullable();
    t.uuid('from_device_id').references('devices.id').onDelete('SET NULL');
    t.text('what').notNullable();
    t.text('title').notNullable();
    t.text('url').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.timestamp('taken_at', { useTz: true });
    t.uuid('taken_by_device_id').references('devices.id').onDelete('SET NULL');
    t.text('taken_by_client_id');
    t.index(['user_id', 'expires_at']);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('handoffs');
}
