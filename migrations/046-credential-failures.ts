import type { Knex } from 'knex';

/** Failed second-factor and app-password attempts, counted over a sliding window for lock-out. */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('credential_failures', (t) => {
    t.bigIncrements('id').primary();
    t.text('kind').notNullable();
    t.text('subject').notNullable();
    t.timestamp('at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.index(['kind', 'subject', 'at']);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('credential_failures');
}
