import type { Knex } from 'knex';

/**
 * The tamper-evident audit log: one row per security act, each hashed over the one before it.
 * The database itself refuses UPDATE, DELETE and TRUNCATE, so only someone who can drop the
 * trigger (a superuser) can rewrite history, and the signed checkpoints outside the database
 * catch that.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('audit_log', (t) => {
    t.bigInteger('seq').primary();
    t.timestamp('occurred_at', { useTz: true }).notNullable();
    t.text('action').notNullable();
    t.uuid('actor_id');
    t.uuid('subject_id');
    t.text('ip');
    t.text('user_agent');
    t.jsonb('data').notNullable();
    t.text('prev_hash').notNullable();
    t.text('hash').notNullable();
    t.index(['subject_id', 'seq']);
    t.index(['action', 'seq']);
  });
  await db.raw(`
    create function audit_log_append_only() returns trigger language plpgsql as $$
    begin
      raise exception 'audit_log is append-only: % refused', tg_op using errcode = 'insufficient_privilege';
    end;
    $$`);
  await db.raw('create trigger audit_log_no_update before update or delete on audit_log for each row execute function audit_log_append_only()');
  await db.raw('create trigger audit_log_no_truncate before truncate on audit_log for each statement execute function audit_log_append_only()');
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('audit_log');
  await db.raw('drop function if exists audit_log_append_only()');
}
