import type { Knex } from 'knex';

/**
 * Single-use tickets for one live connection (EventSource and WebSocket cannot send an
 * Authorization header): only a hash of the ticket, the token facts it stands for, and when it
 * was taken. Any instance may redeem a ticket another one issued.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('live_tickets', (t) => {
    t.text('ticket_hash').primary();
    t.uuid('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.text('client_id').notNullable();
    t.text('grant_ref');
    t.text('scope').notNullable();
    t.timestamp('token_expires_at', { useTz: true }).notNullable();
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.timestamp('used_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.index(['expires_at']);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('live_tickets');
}
