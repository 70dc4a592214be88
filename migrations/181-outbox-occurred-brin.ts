import type { Knex } from 'knex';

/**
 * A person's day of events (the Today card, the daily summary) is found by a BRIN index on
 * occurred_at beside outbox_user_seq, instead of a B-tree on (user_id, occurred_at). The relay
 * marks every row published, which writes a new version of the row into every index: the B-tree
 * cost its claim 20–40 % more (measured with psql), a BRIN nothing measurable. Rows are written in
 * time order, so a day is a few block ranges: one person's day among a million rows of 1,000
 * people takes 0.25 ms (docs/benchmarks.md).
 */
export async function up(db: Knex): Promise<void> {
  await db.raw('drop index if exists outbox_user_occurred');
  await db.raw('create index outbox_occurred_brin on outbox using brin (occurred_at)');
}

export async function down(db: Knex): Promise<void> {
  await db.raw('drop index if exists outbox_occurred_brin');
  await db.raw('create index outbox_user_occurred on outbox (user_id, occurred_at) where user_id is not null');
}
