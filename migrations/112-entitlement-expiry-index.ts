import type { Knex } from 'knex';

/** The expiry sweep asks every few seconds which entitlements have passed their expiry: only those with one are indexed. */
export async function up(db: Knex): Promise<void> {
  await db.raw('create index entitlements_expires_at on entitlements (expires_at) where expires_at is not null');
}

export async function down(db: Knex): Promise<void> {
  await db.raw('drop index if exists entitlements_expires_at');
}
