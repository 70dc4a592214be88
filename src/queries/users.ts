import type { Knex } from 'knex';
import { directStatement } from '../db/direct-statement.ts';

export interface UserRow {
  id: string;
  email: string;
  email_verified: boolean;
  name: string;
  password_hash: string | null;
  is_admin: boolean;
  disabled_at: Date | null;
  created_at: Date;
  updated_at: Date;
  /** The person's chosen language (src/platform/i18n.ts); null: negotiated per request. */
  locale: string | null;
  /** IANA zone their times are shown in; null: UTC until their browser says. */
  time_zone: string | null;
}

/** A person as the admin console lists them (no password hash). */
export interface AdminUserRow {
  id: string;
  email: string;
  name: string;
  is_admin: boolean;
  email_verified: boolean;
  disabled_at: Date | null;
  created_at: Date;
}

/** A person as the provider sees them, with what they share with the asking client's service. */
export interface AccountRow {
  id: string;
  email: string;
  email_verified: boolean;
  name: string;
  updated_at: Date;
  disabled_at: Date | null;
  /** null: no choice recorded for the service (or the client has none): everything is shared. */
  share_profile: boolean | null;
  share_email: boolean | null;
  locale: string | null;
}

const adminColumns = ['id', 'email', 'name', 'is_admin', 'email_verified', 'disabled_at', 'created_at'];

/**
 * Every column of `users`, as UserRow has them. Named, not `*`, where a statement is prepared:
 * PostgreSQL refuses to run a prepared statement whose result changed shape (a column added by a
 * newer hub's migration, during a rolling upgrade), and a named list keeps its shape.
 */
export const userColumns = ['id', 'email', 'email_verified', 'name', 'password_hash', 'is_admin', 'disabled_at', 'created_at', 'updated_at', 'locale', 'time_zone'] as const satisfies ReadonlyArray<keyof UserRow>;

/**
 * The password step's read, prepared (directStatement): planning it cost PostgreSQL 160 µs of the
 * 200 it spent on it, and building it through knex's builder cost the hub as much again.
 */
const signInFactsSql = `select ${userColumns.map((column) => `users.${column}`).join(', ')}, facts.uq_known_browser, facts.uq_owes_second_factor
  from users
  cross join lateral (select
    exists (select 1 from known_devices k where k.user_id = users.id and k.device_hash = $1) as uq_known_browser,
    (exists (select 1 from totp_factors f where f.user_id = users.id and f.confirmed_at is not null) or exists (select 1 from passkeys p where p.user_id = users.id)) as uq_owes_second_factor
  ) as facts
  where lower(users.email) = lower($2)
  limit 1`;

/** The only module that reads or writes `users`. */
export const userQueries = {
  byId: (db: Knex, id: string): Promise<UserRow | undefined> =>
    db('users').where({ id }).first(),
  byEmail: (db: Knex, email: string): Promise<UserRow | undefined> =>
    db('users').whereRaw('lower(email) = lower(?)', [email]).first(),
  /**
   * The password step's one read: the person with this email, whether this browser (its cookie's
   * hash) signed in to them before, and whether they owe a second factor (an authenticator app or a passkey).
   */
  signInFacts: async (db: Knex, email: string, browserHash: string | null): Promise<{ user: UserRow; knownBrowser: boolean; owesSecondFactor: boolean } | undefined> => {
    const [row] = await directStatement<UserRow & { uq_known_browser: boolean; uq_owes_second_factor: boolean }>(db, signInFactsSql, 'uniqverse_sign_in_facts')([browserHash ?? '', email]);
    if (!row) return undefined;
    const { uq_known_browser: knownBrowser, uq_owes_second_factor: owesSecondFactor, ...user } = row;
    return { user, knownBrowser: Boolean(browserHash) && knownBrowser, owesSecondFactor };
  },
  /** The person's address and name only (what a user.* event carries about them). */
  emailAndName: (db: Knex, id: string): Promise<{ email: string; name: string } | undefined> =>
    db('users').where({ id }).first('email', 'name'),
  insert: async (db: Knex, row: Pick<UserRow, 'email' | 'name' | 'password_hash' | 'is_admin' | 'email_verified'> & { id?: string }): Promise<UserRow> => {
    const [created] = await db('users').insert(row).returning('*');
    return created as UserRow;
  },

  /**
   * The user's row, locked until the transaction ends: two changes of one account queue. FOR NO
   * KEY UPDATE, not FOR UPDATE: rows that refer to the person (a known device, an event) may still
   * be written meanwhile. A FOR UPDATE here held them up, and a sign-in that held the audit chain
   * while it waited deadlocked with the change, which then waited for the chain.
   */
  lock: (trx: Knex, userId: string): Promise<UserRow | undefined> =>
    trx('users').where({ id: userId }).forNoKeyUpdate().first(),
  /** Another account that signs in with this address (compared as the unique index does, lower-cased). */
  otherAccountWith: (trx: Knex, email: string, userId: string): Promise<{ id: string } | undefined> =>
    trx('users').whereRaw('lower(email) = lower(?)', [email]).whereNot({ id: userId }).first('id'),
  /** The proven address becomes the sign-in address; proving it is what verifies it. */
  setEmail: (trx: Knex, userId: string, email: string) =>
    trx('users').where({ id: userId }).update({ email, email_verified: true, updated_at: trx.fn.now() }),
  markEmailVerified: (trx: Knex, userId: string, email: string) =>
    trx('users').where({ id: userId }).whereRaw('lower(email) = lower(?)', [email]).update({ email_verified: true, updated_at: trx.fn.now() }, ['id']),
  setPasswordHash: (db: Knex, userId: string, passwordHash: string): Promise<number> =>
    db('users').where({ id: userId }).update({ password_hash: passwordHash, updated_at: db.fn.now() }),
  setDisabled: (trx: Knex, userId: string, disabled: boolean) =>
    trx('users').where({ id: userId }).update({ disabled_at: disabled ? trx.fn.now() : null, updated_at: trx.fn.now() }, ['id']),
  setPreferences: (trx: Knex, userId: string, changes: { locale?: string | null; time_zone?: string | null }) =>
    trx('users').where({ id: userId }).update({ ...changes, updated_at: trx.fn.now() }, ['id']),
  remove: (trx: Knex, userId: string) => trx('users').where({ id: userId }).delete(),

  /** Whether the account is there and enabled (a live stream's token without an id). */
  isEnabled: async (db: Knex, userId: string): Promise<boolean> =>
    Boolean(await db('users').where({ id: userId }).whereNull('disabled_at').first('id')),

  /**
   * One query (primary keys of users, clients and service_consents): findAccount runs at every
   * token response and userinfo call, and caches the answer (provider.ts); migration 090 notices
   * changes to users and to service_consents, so no cached choice outlives its change.
   */
  withSharing: (db: Knex, userId: string, clientId: string | undefined): Promise<AccountRow | undefined> =>
    db('users as u')
      .leftJoin('clients as c', (j) => j.onVal('c.client_id', clientId ?? ''))
      .leftJoin('service_consents as sc', (j) => j.on('sc.user_id', 'u.id').andOn('sc.service_id', 'c.service_id'))
      .where('u.id', userId)
      .first('u.id', 'u.email', 'u.email_verified', 'u.name', 'u.updated_at', 'u.disabled_at', 'u.locale', 'sc.share_profile', 'sc.share_email'),

  /** People whose email or name contains the search, newest first (a query to page). */
  search: (db: Knex, q: string) => {
    const query = db('users').orderBy('created_at', 'desc').orderBy('id').select(adminColumns);
    if (q) {
      const like = `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      query.where((w) => w.whereILike('email', like).orWhereILike('name', like));
    }
    return query;
  },
  /** One person as the admin console shows them. */
  adminById: (db: Knex, id: string): Promise<AdminUserRow | undefined> => db('users').where({ id }).first(adminColumns),
  counts: async (db: Knex) => {
    const row = await db('users').first(db.raw('count(*)::int as users'), db.raw('count(*) filter (where disabled_at is not null)::int as disabled'), db.raw('count(*) filter (where is_admin)::int as admins'));
    return row as { users: number; disabled: number; admins: number };
  },
};
