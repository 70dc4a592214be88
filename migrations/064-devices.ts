import type { Knex } from 'knex';

/** Devices a person's apps registered (phone, TV, watch…), with the push token to reach them. */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('devices', (t) => {
    t.uuid('id').primary().defaultTo(db.raw('gen_random_uuid()'));
    t.uuid('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.text('client_id');
    t.text('kind').notNullable();
    t.text('name');
    t.text('os').notNullable();
    t.text('app_version').notNullable();
    t.text('push_token');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.timestamp('last_seen_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.timestamp('revoked_at', { useTz: true });
    t.index(['user_id']);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('devices');
}
