import type { Knex } from 'knex';

/**
 * The audit writer's lock, the chain's last entry and the key of the person the entry's personal
 * fields are sealed under (kept unless they have one: `candidate_key`, wrapped by the hub), in one
 * round trip: most entries (a sign-in, a change of one's own) are sealed under one person's key.
 * As in migration 182, each statement of the function takes its own snapshot, so the reads after
 * the lock see what the previous writer committed. Migration 182's one-argument function stays for
 * instances of the previous release during a rolling upgrade.
 */
export async function up(db: Knex): Promise<void> {
  await db.raw(`create function audit_lock_and_last(writer_lock bigint, person uuid, candidate_key text)
    returns table (seq bigint, hash text, wrapped_key text)
    language plpgsql volatile as $$
    declare
      kept text;
    begin
      perform pg_advisory_xact_lock(writer_lock);
      if person is not null then
        insert into audit_person_keys (person_id, wrapped_key) values (person, candidate_key) on conflict (person_id) do nothing;
        select k.wrapped_key into kept from audit_person_keys k where k.person_id = person;
      end if;
      return query select l.seq, l.hash, kept from (select 1) as one
        left join lateral (select a.seq, a.hash from audit_log a order by a.seq desc limit 1) as l on true;
    end $$`);
}

export async function down(db: Knex): Promise<void> {
  await db.raw('drop function if exists audit_lock_and_last(bigint, uuid, text)');
}
