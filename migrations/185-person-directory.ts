import type { Knex } from 'knex';

/**
 * Data residency. The directory: what routing needs to find a person's home region and nothing
 * more (their id, the region, and an HMAC of their email so that a sign-in by email finds them).
 * It is used in the directory database only; every database has the whole schema, so that the
 * service catalogue copied into each region keeps its foreign keys and joins.
 *
 * A change of an entry is announced on `uniqverse_directory` (instances cache who lives where).
 * The catalogue's tables announce each change (one notice per statement) on `uniqverse_catalog`:
 * the hub copies them into every region's database when it hears one.
 */
const catalogTables = ['services', 'clients', 'webhooks', 'exchange_pairs', 'service_graph_sources', 'signing_keys', 'vapid_keys'];

export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('person_directory', (table) => {
    table.uuid('user_id').primary();
    table.text('region').notNullable().checkIn(['eu', 'us', 'in']);
    table.binary('email_key').notNullable().unique();
    table.timestamp('placed_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
  });
  await db.raw(`create function catalog_changed() returns trigger language plpgsql as $$
    begin
      perform pg_notify('uniqverse_catalog', tg_table_name);
      return null;
    end $$`);
  // A person moved to another region (or gone): every instance forgets where it thought they were.
  await db.raw(`create function person_directory_changed() returns trigger language plpgsql as $$
    begin
      perform pg_notify('uniqverse_directory', old.user_id::text);
      return null;
    end $$`);
  await db.raw('create trigger person_directory_changed after update or delete on person_directory for each row execute function person_directory_changed()');
  for (const table of catalogTables) {
    await db.raw(`create trigger catalog_changed after insert or update or delete or truncate on ${table} for each statement execute function catalog_changed()`);
  }
}

export async function down(db: Knex): Promise<void> {
  for (const table of catalogTables) await db.raw(`drop trigger if exists catalog_changed on ${table}`);
  await db.raw('drop function if exists catalog_changed()');
  await db.raw('drop trigger if exists person_directory_changed on person_directory');
  await db.raw('drop function if exists person_directory_changed()');
  await db.schema.dropTableIfExists('person_directory');
}
