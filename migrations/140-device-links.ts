import type { Knex } from 'knex';

/**
 * A device knows what it can do with the account: the grant (and so the refresh tokens) its app
 * registered it with, by id and by the reference its access tokens carry, and the browser or
 * device-flow session that grant came from. An app password may belong to one of the devices.
 * Removing a device ends all of these at once.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('devices', (t) => {
    t.text('grant_id');
    t.text('grant_ref');
    t.text('session_uid');
    t.index(['user_id', 'grant_ref']);
  });
  await db.schema.alterTable('app_passwords', (t) => {
    t.uuid('device_id').references('devices.id').onDelete('SET NULL');
    t.index(['device_id']);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.alterTable('app_passwords', (t) => {
    t.dropColumn('device_id');
  });
  await db.schema.alterTable('devices', (t) => {
    t.dropIndex(['user_id', 'grant_ref']);
    t.dropColumn('grant_id');
    t.dropColumn('grant_ref');
    t.dropColumn('session_uid');
  });
}
