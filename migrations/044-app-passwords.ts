import type { Knex } from 'knex';

/** Per-device app passwords for legacy clients; service_id null means "every service". */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('app_passwords', (t) => {
    t.uuid('id').primary().defaultTo(db.raw('gen_random_uuid()'));
    t.uuid('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.text('device_name').notNullable();
    t.text('device_type').notNullable();
    t.uuid('service_id').references('services.id').onDelete('CASCADE');
    t.text('password_hash').notNullable().unique();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.timestamp('last_used_at', { useTz: true });
    t.text('last_ip');
    t.timestamp('revoked_at', { useTz: true });
    t.index(['user_id']);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('app_passwords');
}
