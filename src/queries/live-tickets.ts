import type { Knex } from 'knex';

export interface LiveTicketRow {
  ticket_hash: string;
  user_id: string;
  client_id: string;
  grant_ref: string | null;
  scope: string;
  token_expires_at: Date;
  expires_at: Date;
  used_at: Date | null;
  created_at: Date;
}

export const liveTicketQueries = {
  insert: (db: Knex, row: Omit<LiveTicketRow, 'used_at' | 'created_at'>) => db('live_tickets').insert(row),

  /** Takes the ticket: of any number of redemptions, one gets the row, and only before it expires. */
  take: async (db: Knex, ticketHash: string): Promise<LiveTicketRow | undefined> => {
    const [row] = await db('live_tickets')
      .where({ ticket_hash: ticketHash })
      .whereNull('used_at')
      .andWhere('expires_at', '>', db.fn.now())
      .update({ used_at: db.fn.now() })
      .returning('*');
    return row as LiveTicketRow | undefined;
  },

  /** For the person's data export: when tickets were issued and used, never their hash. */
  exportRows: (db: Knex, userId: string): Promise<Array<Pick<LiveTicketRow, 'client_id' | 'created_at' | 'expires_at' | 'used_at'>>> =>
    db('live_tickets').where({ user_id: userId }).orderBy('created_at').select('client_id', 'created_at', 'expires_at', 'used_at'),

  /** Tickets a minute past their expiry, used or not, are of no more use. */
  deleteExpired: (db: Knex) => db('live_tickets').where('expires_at', '<', db.raw("now() - interval '1 minute'")).delete(),
};
