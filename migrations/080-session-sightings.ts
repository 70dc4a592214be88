import type { Knex } from 'knex';

/**
 * Where and on what a provider session was last seen. node-oidc-provider keeps no user agent or
 * IP, so the portal and the authorization endpoint record them here, keyed by the session uid.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('session_sightings', (t) => {
    t.text('session_uid').primary();
    t.uuid('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.text('user_agent');
    t.text('ip');
    t.timestamp('first_seen_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.timestamp('last_seen_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.index(['user_id']);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('session_sightings');
}
