import type { Knex } from 'knex';

/**
 * A sign-in whose password was right but whose second factor is still owed, keyed by the
 * provider's interaction uid (which only the browser holding that interaction's cookie can use).
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('pending_second_factors', (t) => {
    t.text('interaction_uid').primary();
    t.uuid('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.jsonb('amr').notNullable();
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.index(['expires_at']);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('pending_second_factors');
}
