import type { Knex } from 'knex';

/** A person's language (en, hi, de, fr) and IANA time zone; null until they choose or their browser tells us. */
export async function up(db: Knex): Promise<void> {
  await db.raw('alter table users add column locale text, add column time_zone text');
}

export async function down(db: Knex): Promise<void> {
  await db.raw('alter table users drop column locale, drop column time_zone');
}
