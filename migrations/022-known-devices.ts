import type { Knex } from 'knex';

/** Browsers a person has signed in from (a hash of a long-lived cookie), so a new one triggers a notice. */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('known_devices', (t) => {
    t.uuid('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.text('device_hash').notNullable();
    t.text('user_agent');
    t.text('ip');
    t.timestamp('first_seen_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.timestamp('last_seen_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.primary(['user_id', 'device_hash']);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('known_devices');
}
