import type { Knex } from 'knex';

/**
 * The audit writer's lock and its read of the chain's last entry, in one round trip. They could
 * not share a plain statement: a statement's snapshot is taken before it waits for the lock, so
 * it could miss the entry the previous holder committed. In a volatile PL/pgSQL function each
 * statement takes a snapshot of its own, so the read after the lock sees that entry.
 */
export async function up(db: Knex): Promise<void> {
  await db.raw(`create function audit_lock_and_last(writer_lock bigint) returns table (seq bigint, hash text)
    language plpgsql volatile as $$
    begin
      perform pg_advisory_xact_lock(writer_lock);
      return query select a.seq, a.hash from audit_log a order by a.seq desc limit 1;
    end $$`);
}

export async function down(db: Knex): Promise<void> {
  await db.raw('drop function if exists audit_lock_and_last(bigint)');
}
