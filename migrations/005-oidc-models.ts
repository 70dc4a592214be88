import type { Knex } from 'knex';

/** One table for every short-lived model of node-oidc-provider (the adapter contract). */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('oidc_models', (t) => {
    t.text('model').notNullable();
    t.text('id').notNullable();
    t.jsonb('payload').notNullable();
    t.text('grant_id');
    t.text('user_code');
    t.text('uid');
    t.text('account_id');
    t.timestamp('expires_at', { useTz: true });
    t.timestamp('consumed_at', { useTz: true });
    t.primary(['model', 'id']);
    t.index(['grant_id']);
    t.index(['expires_at']);
    t.index(['account_id', 'model']);
  });
  await db.raw('create unique index oidc_models_user_code on oidc_models (model, user_code) where user_code is not null');
  await db.raw('create unique index oidc_models_uid on oidc_models (model, uid) where uid is not null');
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('oidc_models');
}
