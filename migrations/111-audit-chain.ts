import type { Knex } from 'knex';

/**
 * Which chain the signed audit checkpoints vouch for, and the checkpoints themselves.
 *
 * `audit_chain` holds one id, made on first use (not here: a database copied before its first use,
 * such as a template or a snapshot, gets an id of its own). Checkpoints name it, so a hub or the
 * CLI pointed at another database with the same DATA_DIR tells that database's chain from the one
 * the files vouch for. `audit_checkpoints` keeps every instance's signed checkpoints in the
 * database too, so verify sees them all whichever DATA_DIR it runs with; they are signed with a key
 * derived from the master secret, which the database does not hold, so it can drop one but not
 * forge one. Both tables are append-only, like audit_log.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('audit_chain', (t) => {
    t.uuid('id').primary();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
  });
  await db.raw('create unique index audit_chain_single on audit_chain ((true))');
  await db.schema.createTable('audit_checkpoints', (t) => {
    t.uuid('chain_id').notNullable();
    t.bigInteger('to_seq').notNullable();
    t.bigInteger('from_seq').notNullable();
    t.text('writer').notNullable();
    /** The checkpoint as signed (its canonical JSON body and mac), exactly as the file holds it. */
    t.jsonb('checkpoint').notNullable();
    t.timestamp('written_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.primary(['chain_id', 'to_seq', 'writer']);
  });
  await db.raw(`
    create function audit_append_only() returns trigger language plpgsql as $$
    begin
      raise exception '% is append-only: % refused', tg_table_name, tg_op using errcode = 'insufficient_privilege';
    end;
    $$`);
  for (const table of ['audit_chain', 'audit_checkpoints']) {
    await db.raw(`create trigger ${table}_no_update before update or delete on ${table} for each row execute function audit_append_only()`);
    await db.raw(`create trigger ${table}_no_truncate before truncate on ${table} for each statement execute function audit_append_only()`);
  }
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('audit_checkpoints');
  await db.schema.dropTable('audit_chain');
  await db.raw('drop function if exists audit_append_only()');
}
