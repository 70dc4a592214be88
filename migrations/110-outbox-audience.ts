import type { Knex } from 'knex';

/**
 * Who may hear of an event, recorded when it is written, for events whose audience cannot be
 * worked out later: user.deleted is relayed after the person's entitlements, grants and privacy
 * choices are gone with them. A list of { service_id, share_profile, share_email, share_activity };
 * null means "route by what the hub knows when the event is relayed" (every other event).
 * Never part of the envelope a consumer sees.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('outbox', (t) => {
    t.jsonb('audience').nullable();
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.alterTable('outbox', (t) => {
    t.dropColumn('audience');
  });
}
