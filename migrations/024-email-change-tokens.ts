import type { Knex } from 'knex';

/**
 * Email change: the code and link sent to the new address are email tokens too (purpose
 * change_email; `email` holds the new address, so each is bound to the user and that address).
 */
export async function up(db: Knex): Promise<void> {
  await db.raw('alter table email_tokens drop constraint email_tokens_purpose');
  await db.raw("alter table email_tokens add constraint email_tokens_purpose check (purpose in ('verify_email', 'reset_password', 'change_email'))");
}

export async function down(db: Knex): Promise<void> {
  await db('email_tokens').where({ purpose: 'change_email' }).delete();
  await db.raw('alter table email_tokens drop constraint email_tokens_purpose');
  await db.raw("alter table email_tokens add constraint email_tokens_purpose check (purpose in ('verify_email', 'reset_password'))");
}
