import type { Knex } from 'knex';

/**
 * What the relay and the activity feed need from the outbox: when a row was written (relay lag
 * is measured from it; occurred_at may be a service's own clock), and a per-person index used
 * both for the activity feed and by the relay to keep each person's events in order. A trigger
 * notifies the relays at commit (NOTIFY is delivered only then), so they wake at once instead of
 * waiting for their next poll.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('outbox', (t) => {
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
  });
  await db.raw('create index outbox_user_seq on outbox (user_id, seq) where user_id is not null');
  await db.raw(`create function outbox_notify() returns trigger language plpgsql as $$
    begin
      perform pg_notify('uniqverse_outbox', '');
      return null;
    end $$`);
  await db.raw('create trigger outbox_notify after insert on outbox for each statement execute function outbox_notify()');
}

export async function down(db: Knex): Promise<void> {
  await db.raw('drop trigger if exists outbox_notify on outbox');
  await db.raw('drop function if exists outbox_notify()');
  await db.raw('drop index if exists outbox_user_seq');
  await db.schema.alterTable('outbox', (t) => {
    t.dropColumn('created_at');
  });
}
