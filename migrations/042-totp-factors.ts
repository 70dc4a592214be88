import type { Knex } from 'knex';

/** One authenticator app per person. Unconfirmed until the first good code; the seed is sealed. */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('totp_factors', (t) => {
    t.uuid('user_id').primary().references('users.id').onDelete('CASCADE');
    t.text('secret_sealed').notNullable();
    t.timestamp('confirmed_at', { useTz: true });
    // The last time step a code was accepted for: that step and older ones are refused (replay).
    t.bigInteger('last_time_step');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('totp_factors');
}
