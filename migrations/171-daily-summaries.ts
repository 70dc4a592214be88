import type { Knex } from 'knex';

/**
 * The daily summary by mail ("what happened across my services today"), off unless the person
 * turns it on. A subscriber row is the choice; its `nonce` is in the signed opt-out link, so the
 * link works once (opting out deletes the row; turning it on again makes a new nonce). A send row
 * per person and local day is claimed before the mail goes: two instances never send one day twice.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('daily_summary_subscribers', (t) => {
    t.uuid('user_id').primary().references('users.id').onDelete('CASCADE');
    t.text('nonce').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
  });
  await db.schema.createTable('daily_summary_sends', (t) => {
    t.uuid('user_id').notNullable().references('users.id').onDelete('CASCADE');
    /** The person's local day the summary is of. */
    t.date('day').notNullable();
    /** sent, or empty: nothing happened that day, so no mail. */
    t.text('outcome').notNullable().defaultTo('claimed');
    t.integer('events').notNullable().defaultTo(0);
    t.timestamp('claimed_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.primary(['user_id', 'day']);
  });
  // A person's day of events, read by occurred_at (the card on the home page, the mail).
  await db.raw('create index outbox_user_occurred on outbox (user_id, occurred_at) where user_id is not null');
  await db.raw(`alter table daily_summary_sends add constraint daily_summary_sends_outcome check (outcome in ('claimed', 'sent', 'empty', 'failed'))`);
}

export async function down(db: Knex): Promise<void> {
  await db.raw('drop index if exists outbox_user_occurred');
  await db.schema.dropTable('daily_summary_sends');
  await db.schema.dropTable('daily_summary_subscribers');
}
