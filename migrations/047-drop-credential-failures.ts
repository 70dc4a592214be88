import type { Knex } from 'knex';

/** Failures are counted by the shared brute-force limits (src/platform/rate-limits.ts) instead. */
export async function up(db: Knex): Promise<void> {
  await db.schema.dropTableIfExists('credential_failures');
}

export async function down(db: Knex): Promise<void> {
  await db.schema.createTable('credential_failures', (t) => {
    t.bigIncrements('id').primary();
    t.text('kind').notNullable();
    t.text('subject').notNullable();
    t.timestamp('at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.index(['kind', 'subject', 'at']);
  });
}
