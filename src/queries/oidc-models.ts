import type { Knex } from 'knex';
import type { AdapterPayload } from 'oidc-provider';
import { localWriteMark, markedWrite } from '../db/change-feed.ts';
import { directStatement } from '../db/direct-statement.ts';
import { grantReference } from '../platform/crypto/grant-reference.ts';
import { sightingQueries } from './session-sightings.ts';

/**
 * The only module that reads or writes `oidc_models`, the provider's short-lived models (grants,
 * sessions, tokens, codes) on one table: what the adapter needs (modelQueries), and what the
 * portal, the console and the live streams read or end of a person's grants and sessions.
 */

/** The provider's Grant payload, as far as the portal reads it. */
export interface GrantPayload {
  jti: string;
  accountId: string;
  clientId: string;
  openid?: { scope?: string; claims?: string[] };
  resources?: Record<string, string>;
  exp?: number;
}

export interface StoredGrant {
  id: string;
  payload: GrantPayload;
}

/** The provider's Session payload, as far as the portal reads it. */
export interface SessionPayload {
  uid: string;
  jti: string;
  accountId?: string;
  loginTs?: number;
  amr?: string[];
  acr?: string;
  authorizations?: Record<string, { sid?: string; grantId?: string; persistsLogout?: boolean }>;
}

export interface StoredSession {
  id: string;
  uid: string;
  payload: SessionPayload;
  expires_at: Date | null;
}

export interface ModelRow {
  payload: AdapterPayload;
  expires_at: Date | null;
  consumed_at: Date | null;
}

export interface ModelInsert {
  model: string;
  id: string;
  payload: AdapterPayload;
  grant_id: string | null;
  user_code: string | null;
  uid: string | null;
  account_id: string | null;
  expires_at: Date | null;
  /** A session's: where and on what it was just seen, written to session_sightings in the same statement. */
  sighting?: { user_agent: string | null; ip: string | null };
}

interface ModelKey {
  model: string;
  id: string;
}

const live = (db: Knex) => (q: Knex.QueryBuilder) => q.whereNull('expires_at').orWhere('expires_at', '>', db.fn.now());

/** Tokens and codes the provider files under a session (by sessionUid in their payload). */
const sessionBoundModels = ['AccessToken', 'RefreshToken', 'AuthorizationCode', 'DeviceCode', 'BackchannelAuthenticationRequest'];

export const grantQueries = {
  /** A person's live grants (what each client may see about them). */
  forUser: (db: Knex, userId: string): Promise<StoredGrant[]> =>
    db('oidc_models')
      .where({ model: 'Grant', account_id: userId })
      .andWhere((q) => q.whereNull('expires_at').orWhere('expires_at', '>', db.fn.now()))
      .select('id', 'payload'),

  /** Revokes grants: each grant and everything issued under it (access and refresh tokens, codes). */
  revoke: async (trx: Knex, grantIds: string[]) => {
    if (!grantIds.length) return;
    await trx('oidc_models').whereIn('grant_id', grantIds).delete();
    await trx('oidc_models').where({ model: 'Grant' }).whereIn('id', grantIds).delete();
  },

  /** Revokes one grant (a replayed code or refresh token): everything issued under it, then the grant. */
  revokeOne: async (trx: Knex, grantId: string) => {
    await trx('oidc_models').where({ grant_id: grantId }).delete();
    await trx('oidc_models').where({ model: 'Grant', id: grantId }).delete();
  },

  /** Rewrites a grant's OpenID scope (a person turned a kind of data off). */
  setScope: (trx: Knex, grantId: string, payload: GrantPayload) =>
    trx('oidc_models').where({ model: 'Grant', id: grantId }).update({ payload }),

  /** Refresh tokens of these grants (a service losing "stay connected"). */
  deleteRefreshTokens: (trx: Knex, grantIds: string[]) =>
    grantIds.length ? trx('oidc_models').where({ model: 'RefreshToken' }).whereIn('grant_id', grantIds).delete() : Promise.resolve(0),

  /** For each person, the services of the clients they hold a live grant with. */
  servicesOf: (trx: Knex, userIds: string[]): Promise<Array<{ user_id: string; service_id: string }>> =>
    trx('oidc_models as g')
      .join('clients as c', 'c.client_id', trx.raw(`g.payload->>'clientId'`))
      .where('g.model', 'Grant')
      .whereIn('g.account_id', userIds)
      .whereNotNull('c.service_id')
      .where((q) => q.whereNull('g.expires_at').orWhere('g.expires_at', '>', trx.fn.now()))
      .distinct('g.account_id as user_id', 'c.service_id'),

  /** The person's live grant for this client whose reference is `ref`, if any. */
  async byReference(db: Knex, userId: string, clientId: string, ref: string): Promise<StoredGrant | undefined> {
    const grants = await db('oidc_models')
      .where({ model: 'Grant', account_id: userId })
      .whereRaw("payload->>'clientId' = ?", [clientId])
      .andWhere((q) => q.whereNull('expires_at').orWhere('expires_at', '>', db.fn.now()))
      .select<StoredGrant[]>('id', 'payload');
    return grants.find((g) => grantReference(g.id) === ref);
  },

  /** The session a grant's refresh tokens (or codes) were issued in: its uid, or null when none says. */
  async sessionUidOf(db: Knex, grantId: string): Promise<string | null> {
    const row = await db('oidc_models')
      .where({ grant_id: grantId })
      .whereIn('model', ['RefreshToken', 'AuthorizationCode', 'DeviceCode'])
      .whereRaw("payload->>'sessionUid' is not null")
      .first<{ uid: string } | undefined>(db.raw("payload->>'sessionUid' as uid"));
    return row?.uid ?? null;
  },

  /**
   * Whether the account, enabled, still holds a grant for this client (null: for any client: a
   * token made by token exchange names the acting client, not the grant's) whose reference is
   * `ref` (read from the database, not a cache).
   */
  async held(db: Knex, userId: string, clientId: string | null, ref: string): Promise<boolean> {
    const query = db('oidc_models as m')
      .joinRaw('join users as u on u.id::text = m.account_id')
      .where({ 'm.model': 'Grant', 'm.account_id': userId });
    if (clientId !== null) query.whereRaw("m.payload->>'clientId' = ?", [clientId]);
    const grants = await query
      .whereNull('u.disabled_at')
      .andWhere((q) => q.whereNull('m.expires_at').orWhere('m.expires_at', '>', new Date()))
      .select<Array<{ id: string }>>('m.id');
    return grants.some((g) => grantReference(g.id) === ref);
  },
};

export const sessionQueries = {
  activeForUser: (db: Knex, userId: string): Promise<StoredSession[]> =>
    db('oidc_models').where({ model: 'Session', account_id: userId }).andWhere(live(db)).select('id', 'uid', 'payload', 'expires_at'),

  byUid: (db: Knex, userId: string, uid: string): Promise<StoredSession | undefined> =>
    db('oidc_models').where({ model: 'Session', account_id: userId, uid }).andWhere(live(db)).first('id', 'uid', 'payload', 'expires_at'),

  /** How many sessions the provider holds for the account (before they are ended). */
  countForUser: async (trx: Knex, userId: string): Promise<number> => {
    const [row] = await trx('oidc_models').where({ model: 'Session', account_id: userId }).count<{ count: string | number }[]>('* as count');
    return Number(row?.count ?? 0);
  },

  /** Live sessions of everyone (the console's home page). */
  countLive: (db: Knex) =>
    db('oidc_models').where({ model: 'Session' }).andWhere((q) => q.whereNull('expires_at').orWhere('expires_at', '>', db.fn.now())).count<{ n: string }>({ n: '*' }).first(),

  /**
   * The portal session's expiry (Date, or null when it has none), or undefined when it or its
   * enabled account is gone; read from the database itself (not an instance's cache, which
   * another instance's change reaches only a moment later).
   */
  async expiryOf(db: Knex, sessionId: string, userId: string): Promise<Date | null | undefined> {
    const row = await db('oidc_models as m')
      .joinRaw('join users as u on u.id::text = m.account_id')
      .where({ 'm.model': 'Session', 'm.id': sessionId, 'm.account_id': userId })
      .whereNull('u.disabled_at')
      .first<{ expires_at: Date | null } | undefined>('m.expires_at');
    return row ? row.expires_at : undefined;
  },

  /** Ends one session: its grants and every token they hold, tokens filed under it, and the session itself. */
  destroy: async (trx: Knex, session: StoredSession) => {
    const grantIds = Object.values(session.payload.authorizations ?? {})
      .map((a) => a.grantId)
      .filter((id): id is string => typeof id === 'string');
    if (grantIds.length) {
      await trx('oidc_models').whereIn('grant_id', grantIds).delete();
      await trx('oidc_models').where({ model: 'Grant' }).whereIn('id', grantIds).delete();
    }
    await trx('oidc_models').whereIn('model', sessionBoundModels).whereRaw("payload->>'sessionUid' = ?", [session.uid]).delete();
    await trx('oidc_models').where({ model: 'Session', id: session.id }).delete();
  },
};

/** The node-oidc-provider adapter's statements (src/oidc/adapter.ts), one model at a time. */
export const modelQueries = {
  findBy: (db: Knex, model: string, by: 'id' | 'uid', value: string) =>
    db('oidc_models').where({ model }).andWhere({ [by]: value }).first('id', 'payload', 'expires_at', 'consumed_at') as Promise<(ModelRow & { id: string }) | undefined>,

  findByUserCode: (db: Knex, model: string, userCode: string): Promise<ModelRow | undefined> =>
    db('oidc_models').where({ model }).andWhere({ user_code: userCode }).first('payload', 'expires_at', 'consumed_at'),

  grantIdOf: (db: Knex, model: string, id: string): Promise<{ grant_id: string | null } | undefined> =>
    db('oidc_models').where({ model }).andWhere({ id }).first('grant_id'),

  /** Marked as our own write: the caller drops exactly what it changes from its cache (see markedWrite). */
  destroy: async (db: Knex, model: string, id: string): Promise<void> => {
    await markedWrite(db, db('oidc_models').where({ model }).andWhere({ id }).delete());
  },

  /** Moves a live row's expiry later, and its payload's `exp` with it; how many rows changed (0 or 1). Marked, as destroy. */
  extendExpiry: async (db: Knex, model: string, id: string, expiresAt: Date, exp: number): Promise<number> =>
    (
      await markedWrite(
        db,
        db('oidc_models')
          .where({ model })
          .andWhere({ id })
          .andWhere('expires_at', '>', db.fn.now())
          .andWhere('expires_at', '<', expiresAt)
          .update({ expires_at: expiresAt, payload: db.raw("jsonb_set(payload, '{exp}', to_jsonb(?::bigint))", [exp]) }),
      )
    ).count,

  deleteByGrant: (db: Knex, model: string, grantId: string) => db('oidc_models').where({ model }).andWhere({ grant_id: grantId }).delete(),

  /** Deletes expired rows. Marked: a cached entry never outlives its row's expiry, so the sweep need not empty the cache. */
  deleteExpired: async (db: Knex): Promise<number> => (await markedWrite(db, db('oidc_models').where('expires_at', '<', db.fn.now()).delete())).count,

  /**
   * Ends everything the provider holds for the account at once: sessions, grants, refresh and
   * opaque access tokens, codes. Every such row carries the account id (the adapter files it).
   */
  /** The data export: the provider's records of the person (never their ids, which are the tokens themselves). */
  exportRows: (db: Knex, userId: string): Promise<Array<{ model: string; payload: Record<string, unknown>; expires_at: Date | null; consumed_at: Date | null }>> =>
    db('oidc_models').where({ account_id: userId }).orderBy(['model', 'expires_at']).select('model', 'payload', 'expires_at', 'consumed_at'),
  deleteAllOf: (trx: Knex, userId: string) => trx('oidc_models').where({ account_id: userId }).delete(),
  /** Every model that names the person anywhere in its payload (an interaction's login result, a submitted email), for erasure. */
  deleteMentioning: (trx: Knex, texts: string[]) =>
    texts.length
      ? trx('oidc_models')
          .where((w) => {
            for (const text of texts) w.orWhereRaw('payload::text ilike ?', [`%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`]);
          })
          .delete()
      : Promise.resolve(0),
};

/** What identifies a row: two writes of one row in a batch are one (see GroupCommit's keyOf). */
export const modelRowKey = (row: ModelKey) => `${row.model} ${row.id}`;
const mergedColumns = ['payload', 'grant_id', 'user_code', 'uid', 'account_id', 'expires_at'];

// One JSON parameter holds the whole batch: the statement's text is the same for any number of
// rows, so it is prepared once per connection. xmax = 0: the row is new (a replaced one may keep
// its consumed_at).
const modelColumns = 'model text, id text, payload jsonb, grant_id text, user_code text, uid text, account_id text, expires_at timestamptz';
const upsertModelsSql = `/* ${localWriteMark} */ insert into "oidc_models" (model, id, payload, grant_id, user_code, uid, account_id, expires_at)
  select * from json_to_recordset($1::json) as r(${modelColumns})
  on conflict (model, id) do update set ${mergedColumns.map((column) => `${column} = excluded.${column}`).join(', ')}
  returning model, id, (xmax = 0) as inserted`;

// The same, for a batch that carries a session's sighting (a sign-in's session, saved as the
// provider answers): the sighting is written by the same statement, as session-sightings.ts writes
// it (at most once a minute per session, and only while its person exists: a sighting is never
// worth failing the session's save).
const upsertModelsWithSightingsSql = `/* ${localWriteMark} */ with r as materialized (
    select * from json_to_recordset($1::json) as r(${modelColumns}, seen boolean, seen_user_agent text, seen_ip text)
  ), seen as materialized (
    select uid, account_id, seen_user_agent, seen_ip from r where seen
  ), sighted as (
    ${sightingQueries.recordFromRows('seen')}
  )
  insert into "oidc_models" (model, id, payload, grant_id, user_code, uid, account_id, expires_at)
  select model, id, payload, grant_id, user_code, uid, account_id, expires_at from r
  on conflict (model, id) do update set ${mergedColumns.map((column) => `${column} = excluded.${column}`).join(', ')}
  returning model, id, (xmax = 0) as inserted`;

// Not prepared: Postgres planned it well for each batch of ids, but the plan it made once without
// them and kept for the connection cost it about twice the CPU per refresh under `npm run bench`.
const consumeModelsSql = `/* ${localWriteMark} */ update "oidc_models" set consumed_at = now()
  where model = $1 and id = any($2::text[]) and consumed_at is null
  returning id`;

/** The batched writes of src/oidc/model-writes.ts: one statement for a group of rows, past knex's builder (see directStatement). */
export const modelBatchQueries = {
  /** Inserts or replaces the rows; for each, true when it is new (so it holds exactly what was written). */
  upsert(db: Knex): (rows: ModelInsert[]) => Promise<boolean[]> {
    const run = directStatement<ModelKey & { inserted: boolean }>(db, upsertModelsSql, 'uniqverse_upsert_models');
    const runWithSightings = directStatement<ModelKey & { inserted: boolean }>(db, upsertModelsWithSightingsSql, 'uniqverse_upsert_models_sighted');
    return async (rows) => {
      const sighted = rows.some((row) => row.sighting);
      const written = sighted
        ? await runWithSightings([JSON.stringify(rows.map(({ sighting, ...row }) => (sighting ? { ...row, seen: true, seen_user_agent: sighting.user_agent, seen_ip: sighting.ip } : row)))])
        : await run([JSON.stringify(rows)]);
      const inserted = new Set(written.filter((row) => row.inserted).map(modelRowKey));
      return rows.map((row) => inserted.has(modelRowKey(row)));
    };
  },

  /** Marks the model's rows consumed; for each id, true for the one that did, false when it already was (or is gone). */
  consume(db: Knex, model: string): (ids: string[]) => Promise<boolean[]> {
    const run = directStatement<{ id: string }>(db, consumeModelsSql);
    return async (ids) => {
      const rows = await run([model, ids]);
      // Two redemptions of one token in one batch: the first submitted wins, as it would alone.
      const consumed = new Set(rows.map((row) => row.id));
      return ids.map((id) => consumed.delete(id));
    };
  },
};
