import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('users', (t) => {
    t.uuid('id').primary().defaultTo(db.raw('gen_random_uuid()'));
    t.text('email').notNullable();
    t.boolean('email_verified').notNullable().defaultTo(false);
    t.text('name').notNullable();
    t.text('password_hash');
    t.boolean('is_admin').notNullable().defaultTo(false);
    t.timestamp('disabled_at', { useTz: true });
    t.timestamps(true, true, false);
  });
  await db.raw('create unique index users_email_lower on users (lower(email))');
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('users');
}
