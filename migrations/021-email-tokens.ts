import type { Knex } from 'knex';

/**
 * One-time secrets sent by mail: email verification (a link and a 6-digit code) and password
 * reset (a link). Only hashes are stored; each is bound to one user and the address it went to.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('email_tokens', (t) => {
    t.uuid('id').primary().defaultTo(db.raw('gen_random_uuid()'));
    t.uuid('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.text('purpose').notNullable();
    t.text('email').notNullable();
    t.text('token_hash').notNullable().unique();
    t.text('code_hash');
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.timestamp('used_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.index(['user_id', 'purpose']);
  });
  await db.raw("alter table email_tokens add constraint email_tokens_purpose check (purpose in ('verify_email', 'reset_password'))");
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('email_tokens');
}
