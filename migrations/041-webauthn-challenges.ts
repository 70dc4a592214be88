import type { Knex } from 'knex';

/**
 * Server-side WebAuthn challenges: single use (deleted when checked), short-lived, and bound
 * to what asked for them (a sign-in interaction or a portal session).
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('webauthn_challenges', (t) => {
    t.text('challenge').primary();
    t.text('purpose').notNullable();
    t.text('bound_to').notNullable();
    t.uuid('user_id').references('users.id').onDelete('CASCADE');
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.index(['expires_at']);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('webauthn_challenges');
}
