import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('services', (t) => {
    t.uuid('id').primary().defaultTo(db.raw('gen_random_uuid()'));
    t.text('slug').notNullable().unique();
    t.text('name').notNullable();
    t.text('url');
    t.text('resource').notNullable().unique();
    t.boolean('first_party').notNullable().defaultTo(false);
    t.text('default_tier');
    t.text('status').notNullable().defaultTo('active');
    t.specificType('scopes', 'text[]').notNullable().defaultTo(db.raw(`'{read,write}'::text[]`));
    t.integer('access_token_ttl').notNullable().defaultTo(3600);
    t.timestamps(true, true, false);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('services');
}
