import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('signing_keys', (t) => {
    t.text('kid').primary();
    t.text('alg').notNullable();
    t.text('private_jwk_sealed').notNullable();
    t.jsonb('public_jwk').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    // Published from created_at; signs from activates_at, once every instance has published it.
    t.timestamp('activates_at', { useTz: true }).notNullable();
    // Set when a newer key of the same alg activates; the key stays published until expires_at.
    t.timestamp('expires_at', { useTz: true });
    t.index(['alg', 'activates_at']);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('signing_keys');
}
