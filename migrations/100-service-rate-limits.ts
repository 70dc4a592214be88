import type { Knex } from 'knex';

/**
 * Per-service API rate limits, set by an administrator (CLI `services limits`, the admin
 * console), in requests per minute; null: the default of src/platform/rate-limits.ts
 * (`apiRateDefaults`). token: /token per client of the service; events: POST /api/v1/events by
 * the service; hub: /hub/* per person and client of the service.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('services', (t) => {
    t.integer('token_rate_limit');
    t.integer('events_rate_limit');
    t.integer('hub_rate_limit');
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.alterTable('services', (t) => {
    t.dropColumn('token_rate_limit');
    t.dropColumn('events_rate_limit');
    t.dropColumn('hub_rate_limit');
  });
}
