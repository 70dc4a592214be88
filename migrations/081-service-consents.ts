import type { Knex } from 'knex';

/**
 * What a person lets each service receive: profile (name), email, and their activity events.
 * No row means the defaults: everything the service asked for and was granted.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('service_consents', (t) => {
    t.uuid('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.uuid('service_id').notNullable().references('services.id').onDelete('CASCADE');
    t.boolean('share_profile').notNullable().defaultTo(true);
    t.boolean('share_email').notNullable().defaultTo(true);
    t.boolean('share_activity').notNullable().defaultTo(true);
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.primary(['user_id', 'service_id']);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('service_consents');
}
