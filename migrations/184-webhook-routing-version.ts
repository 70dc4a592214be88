import type { Knex } from 'knex';

/**
 * A number that moves whenever the relay's webhook routing may change: a webhook added, changed
 * or removed, a service's status or slug changed or a service removed. The relay reads it in the
 * statement that claims a batch and keeps the list of active webhooks until it moves, instead of
 * reading the list in every round. A row, not a sequence: it moves when the change commits, so a
 * relay that sees the new number reads a list that holds the change.
 */
export async function up(db: Knex): Promise<void> {
  await db.raw('create table webhook_routing_version (only_row boolean primary key default true check (only_row), version bigint not null)');
  await db.raw('insert into webhook_routing_version (version) values (1)');
  await db.raw(`create function webhook_routing_changed() returns trigger language plpgsql as $$
    begin
      update webhook_routing_version set version = version + 1;
      return null;
    end $$`);
  await db.raw('create trigger webhook_routing_changed after insert or update or delete on webhooks for each statement execute function webhook_routing_changed()');
  // Not on every update of a service: the health checker writes its rows every few seconds.
  await db.raw('create trigger webhook_routing_changed after update of status, slug or delete on services for each statement execute function webhook_routing_changed()');
}

export async function down(db: Knex): Promise<void> {
  await db.raw('drop trigger if exists webhook_routing_changed on services');
  await db.raw('drop trigger if exists webhook_routing_changed on webhooks');
  await db.raw('drop function if exists webhook_routing_changed()');
  await db.raw('drop table if exists webhook_routing_version');
}
