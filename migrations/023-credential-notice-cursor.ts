import type { Knex } from 'knex';

/**
 * How far the credential-notice mailer has read the audit log. One row; it starts at the current
 * end of the log, so turning the feature on mails nothing about the past.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('credential_notice_cursor', (t) => {
    t.integer('id').primary();
    t.bigInteger('last_seq').notNullable();
  });
  await db.raw('insert into credential_notice_cursor (id, last_seq) select 1, coalesce(max(seq), 0) from audit_log');
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('credential_notice_cursor');
}
