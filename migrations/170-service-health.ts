import type { Knex } from 'knex';

/**
 * Each service's health as the hub sees it by asking its health URL: up, down, or unknown (never
 * asked, or no URL). `health_failures` counts failures in a row (down after two, so one blip does
 * not flap); `health_next_check_at` is claimed by the instance that checks next, so several
 * instances on one database check each service once per interval.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('services', (t) => {
    t.text('health_url');
    t.text('health').notNullable().defaultTo('unknown');
    t.integer('health_failures').notNullable().defaultTo(0);
    t.timestamp('health_checked_at', { useTz: true });
    t.timestamp('health_next_check_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
  });
  await db.raw(`alter table services add constraint services_health check (health in ('unknown', 'up', 'down'))`);
}

export async function down(db: Knex): Promise<void> {
  await db.raw('alter table services drop constraint services_health');
  await db.schema.alterTable('services', (t) => {
    t.dropColumn('health_next_check_at');
    t.dropColumn('health_checked_at');
    t.dropColumn('health_failures');
    t.dropColumn('health');
    t.dropColumn('health_url');
  });
}
