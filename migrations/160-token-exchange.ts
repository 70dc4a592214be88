import type { Knex } from 'knex';

const tokenExchangeGrant = 'urn:ietf:params:oauth:grant-type:token-exchange';

/**
 * Token exchange (RFC 8693) and the service gateway: which service may exchange a person's token
 * for a token toward which other service (an administrator allows each pair), and where the
 * gateway forwards a service's requests (its upstream URL). Web clients, the confidential ones,
 * may use the token-exchange grant; the pairs decide what it gets them.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('exchange_pairs', (t) => {
    t.uuid('from_service_id').notNullable().references('services.id').onDelete('CASCADE');
    t.uuid('to_service_id').notNullable().references('services.id').onDelete('CASCADE');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.primary(['from_service_id', 'to_service_id']);
    t.index(['to_service_id']);
  });
  await db.schema.alterTable('services', (t) => {
    t.text('upstream_url');
  });
  await db.raw(
    `update clients set metadata = jsonb_set(metadata, '{grant_types}', (metadata->'grant_types') || to_jsonb(?::text))
      where type = 'web' and not (metadata->'grant_types') @> jsonb_build_array(?::text)`,
    [tokenExchangeGrant, tokenExchangeGrant],
  );
}

export async function down(db: Knex): Promise<void> {
  await db.raw(`update clients set metadata = jsonb_set(metadata, '{grant_types}', (metadata->'grant_types') - ?::text) where type = 'web'`, [tokenExchangeGrant]);
  await db.schema.alterTable('services', (t) => {
    t.dropColumn('upstream_url');
  });
  await db.schema.dropTable('exchange_pairs');
}
