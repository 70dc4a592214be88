import type { Knex } from 'knex';

export type EmailTokenPurpose = 'verify_email' | 'reset_password' | 'change_email';

export interface EmailTokenRow {
  id: string;
  user_id: string;
  purpose: EmailTokenPurpose;
  email: string;
  token_hash: string;
  code_hash: string | null;
  attempts: number;
  expires_at: Date;
  used_at: Date | null;
  created_at: Date;
}

export const emailTokenQueries = {
  insert: async (db: Knex, row: Pick<EmailTokenRow, 'user_id' | 'purpose' | 'email' | 'token_hash' | 'code_hash' | 'expires_at'>): Promise<EmailTokenRow> => {
    const [created] = await db('email_tokens').insert(row).returning('*');
    return created as EmailTokenRow;
  },
  /** Every address a person's tokens were sent to (a pending email change's new address too). */
  /** The data export: the mails sent to confirm an address or reset a password (never the hashes). */
  exportRows: (db: Knex, userId: string): Promise<Array<Record<string, unknown>>> =>
    db('email_tokens').where({ user_id: userId }).orderBy('created_at').select('purpose', 'email', 'created_at', 'expires_at', 'used_at', 'attempts'),
  addressesOf: async (db: Knex, userId: string): Promise<string[]> => (await db('email_tokens').where({ user_id: userId }).distinct('email')).map((r: { email: string }) => r.email),
  byTokenHash: (db: Knex, purpose: EmailTokenPurpose, tokenHash: string): Promise<EmailTokenRow | undefined> =>
    db('email_tokens').where({ purpose, token_hash: tokenHash }).first(),
  /** The newest live verification for a user (the code is checked against it). */
  liveFor: (db: Knex, userId: string, purpose: EmailTokenPurpose): Promise<EmailTokenRow | undefined> =>
    db('email_tokens').where({ user_id: userId, purpose }).whereNull('used_at').where('expires_at', '>', db.fn.now()).orderBy('created_at', 'desc').first(),
  /** Marks it used only if it is still unused and unexpired: of two parallel uses exactly one wins. */
  use: async (db: Knex, id: string): Promise<boolean> => {
    const updated = await db('email_tokens').where({ id }).whereNull('used_at').where('expires_at', '>', db.fn.now()).update({ used_at: db.fn.now() }, ['id']);
    return updated.length === 1;
  },
  countAttempt: (db: Knex, id: string) => db('email_tokens').where({ id }).increment('attempts', 1),
  /** Older links stop working when a new one is sent, and all of them once one is used. */
  retireAll: (db: Knex, userId: string, purpose: EmailTokenPurpose) =>
    db('email_tokens').where({ user_id: userId, purpose }).whereNull('used_at').update({ used_at: db.fn.now() }),
};
