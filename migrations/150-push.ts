import type { Knex } from 'knex';

/**
 * Push notifications when a person's app or page is not open: where to reach each browser or
 * device (Web Push, APNs, FCM), what the person wants pushed and when not, the messages on their
 * way (retried until sent, dropped only when the push service says the subscription is gone), and
 * the hub's VAPID key pair (its private half sealed with the master secret).
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('push_subscriptions', (t) => {
    t.uuid('id').primary().defaultTo(db.raw('gen_random_uuid()'));
    t.uuid('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.uuid('device_id').references('devices.id').onDelete('CASCADE');
    t.text('kind').notNullable();
    /** A Web Push endpoint URL, or an APNs / FCM device token. */
    t.text('endpoint').notNullable();
    t.text('p256dh');
    t.text('auth');
    /** What the person sees in the list: the device's name or the browser in words. */
    t.text('label').notNullable();
    t.boolean('enabled').notNullable().defaultTo(true);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.timestamp('last_success_at', { useTz: true });
    t.integer('failure_count').notNullable().defaultTo(0);
    t.unique(['kind', 'endpoint']);
    t.index(['user_id']);
    t.index(['device_id']);
  });
  await db.raw(`alter table push_subscriptions add constraint push_subscriptions_kind check (kind in ('webpush', 'apns', 'fcm'))`);
  await db.raw(`alter table push_subscriptions add constraint push_subscriptions_keys check (kind <> 'webpush' or (p256dh is not null and auth is not null))`);

  await db.schema.createTable('notification_settings', (t) => {
    t.uuid('user_id').primary().references('users.id').onDelete('CASCADE');
    t.jsonb('kinds').notNullable();
    /** Minutes after midnight in the person's time zone; both null: no quiet hours. */
    t.smallint('quiet_start');
    t.smallint('quiet_end');
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
  });

  await db.schema.createTable('push_deliveries', (t) => {
    t.uuid('id').primary().defaultTo(db.raw('gen_random_uuid()'));
    t.uuid('subscription_id').notNullable().references('push_subscriptions.id').onDelete('CASCADE');
    t.uuid('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.uuid('event_id').notNullable();
    t.text('event_type').notNullable();
    t.jsonb('payload').notNullable();
    /** pending → sent | skipped (a live connection of the device was open) | gone (the subscription expired) | dead (gave up, logged). */
    t.text('status').notNullable().defaultTo('pending');
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('next_attempt_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.text('lease_owner');
    t.timestamp('lease_until', { useTz: true });
    t.text('last_error');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.timestamp('finished_at', { useTz: true });
    t.unique(['subscription_id', 'event_id']);
    t.index(['status', 'next_attempt_at']);
    t.index(['user_id']);
  });

  await db.schema.createTable('vapid_keys', (t) => {
    t.text('id').primary();
    t.text('public_key').notNullable();
    t.text('private_key_sealed').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('vapid_keys');
  await db.schema.dropTable('push_deliveries');
  await db.schema.dropTable('notification_settings');
  await db.schema.dropTable('push_subscriptions');
}
