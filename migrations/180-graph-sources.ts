import type { Knex } from 'knex';

/**
 * The part of /graphql a service answers: a declared REST source (SDL whose Query fields carry
 * `@rest(path: ...)`), one per service, stitched into the hub's schema (src/catalog/graph-sources.ts).
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('service_graph_sources', (t) => {
    t.uuid('service_id').primary().references('services.id').onDelete('CASCADE');
    t.text('sdl').notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('service_graph_sources');
}
