import type { Knex } from 'knex';
import Provider, { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import type { CoherentCache } from '../platform/cache.ts';
import { modelCacheKey } from '../db/change-feed.ts';
import { cannotBeStored, isRefusedCharacter } from '../db/refused-characters.ts';
import { grantQueries, modelQueries, type ModelInsert, type ModelRow } from '../queries/oidc-models.ts';
import { ModelWrites } from './model-writes.ts';
import { holdWrite, sendHeldWrites, takeHeldSighting } from './held-writes.ts';

/** Models whose rows carry a grant id, and so are revoked with their grant. */
const consumable = new Set(['AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest', 'PushedAuthorizationRequest']);

const epoch = (date: Date) => Math.floor(date.getTime() / 1000);

/**
 * Models read on every token, userinfo and introspection request, and rarely changed after they
 * are written: cached (see CoherentCache). An authorization code is read once, by the token
 * request that follows its sign-in, most often on the instance that wrote it: kept from its write,
 * that read needs no statement. Spending a code stays a conditional update in the database, so a
 * code replayed on another instance before its notice arrives is still refused, and its grant
 * revoked, in `consume`. Device codes and the like go to the database.
 */
export const cachedModels = new Set(['AccessToken', 'AuthorizationCode', 'ClientCredentials', 'RefreshToken', 'Grant', 'Session']);

function toPayload(row: ModelRow | undefined, now = new Date()): AdapterPayload | undefined {
  if (!row) return undefined;
  if (row.expires_at && new Date(row.expires_at) <= now) return undefined;
  return row.consumed_at ? { ...row.payload, consumed: epoch(new Date(row.consumed_at)) } : row.payload;
}

/**
 * The node-oidc-provider adapter for every short-lived model, on one table. `consume` is a
 * conditional update, so of many parallel redemptions of one code exactly one wins; the
 * losers revoke the grant (a replayed code means it leaked) and get invalid_grant.
 */
export class KnexModelAdapter implements Adapter {
  private readonly model: string;
  private readonly db: Knex;
  private readonly cache: CoherentCache<ModelRow> | undefined;
  private readonly writes: ModelWrites;

  /** `writes`: shared by every model's adapter, so that their saves go to the database together. */
  constructor(db: Knex, model: string, cache?: CoherentCache<ModelRow>, writes = new ModelWrites(db)) {
    this.db = db;
    this.model = model;
    this.cache = cachedModels.has(model) ? cache : undefined;
    this.writes = writes;
  }

  private keysOf(id: string, uid: unknown): string[] {
    return [modelCacheKey(this.model, 'id', id), ...(typeof uid === 'string' ? [modelCacheKey(this.model, 'uid', uid)] : [])];
  }

  private forget(id: string, uid?: unknown): void {
    if (!this.cache) return;
    const cached = this.cache.peek(modelCacheKey(this.model, 'id', id));
    this.cache.drop(...this.keysOf(id, uid ?? cached?.payload.uid));
  }

  private async findBy(by: 'id' | 'uid', value: string): Promise<AdapterPayload | undefined> {
    if (cannotBeStored(value)) return undefined;
    const load = () => modelQueries.findBy(this.db, this.model, by, value);
    if (!this.cache) return toPayload(await load());
    const row = await this.cache.through(modelCacheKey(this.model, by, value), load, (r) => this.keysOf((r as ModelRow & { id: string }).id, r.payload.uid), (r) => (r.expires_at ? new Date(r.expires_at).getTime() : null));
    return toPayload(row);
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
    const row: ModelInsert = {
      model: this.model,
      id,
      payload,
      grant_id: payload.grantId ?? null,
      user_code: payload.userCode ?? null,
      uid: payload.uid ?? null,
      account_id: payload.accountId ?? null,
      expires_at: expiresIn ? new Date(Date.now() + expiresIn * 1000) : null,
    };
    const request = Provider.ctx;
    // A sign-in's session carries where it was seen, written in the same statement.
    const sighting = this.model === 'Session' ? takeHeldSighting(request, payload.uid, payload.accountId) : undefined;
    if (sighting) row.sighting = { user_agent: sighting.userAgent, ip: sighting.ip };
    this.forget(id, payload.uid);
    const mark = this.cache?.mark() ?? 0;
    const write = async () => {
      // A new row is exactly what we wrote (a replaced one may keep its consumed_at).
      const inserted = await this.writes.upsert(row).catch((error: unknown) => {
        // A parameter the provider keeps (state, nonce, login_hint, …) held a character Postgres refuses: the client's fault.
        throw isRefusedCharacter(error) ? new errors.InvalidRequest('parameters must not contain U+0000 or unpaired surrogates') : error;
      });
      if (inserted && this.cache) {
        this.cache.put(this.keysOf(id, payload.uid), { id, payload, expires_at: row.expires_at, consumed_at: null } as ModelRow, mark, row.expires_at?.getTime() ?? null);
      } else this.forget(id, payload.uid);
    };
    // The session the provider saves as it answers goes with it (held-writes.ts); nothing reads a code before its answer is out.
    if (request && this.model === 'AuthorizationCode') return holdWrite(request, write);
    sendHeldWrites(request);
    await write();
  }

  find(id: string): Promise<AdapterPayload | undefined> {
    return this.findBy('id', id);
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    if (cannotBeStored(userCode)) return undefined;
    return toPayload(await modelQueries.findByUserCode(this.db, this.model, userCode));
  }

  findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return this.findBy('uid', uid);
  }

  async consume(id: string): Promise<void> {
    this.forget(id);
    const consumed = await this.writes.consume(this.model, id);
    this.forget(id);
    if (!consumed && consumable.has(this.model)) {
      const row = await modelQueries.grantIdOf(this.db, this.model, id);
      if (row?.grant_id) await revokeGrant(this.db, row.grant_id);
      throw new errors.InvalidGrant(`${this.model === 'RefreshToken' ? 'refresh token' : 'grant'} already used`);
    }
  }

  async destroy(id: string): Promise<void> {
    // Our own writes drop exactly what they change; the change feed empties the cache for any other.
    this.forget(id);
    await modelQueries.destroy(this.db, this.model, id);
    this.forget(id);
  }

  /**
   * Moves a live row's expiry (`exp`, epoch seconds) later and changes nothing else in it; false
   * when the row is gone, expired, or already expires then. Unlike a save (upsert) of a model read
   * earlier in the request, it cannot write back a payload another request changed meanwhile, nor
   * bring back a row that was destroyed (a session signed out) in between.
   */
  async extendExpiry(id: string, exp: number): Promise<boolean> {
    const expiresAt = new Date(exp * 1000);
    this.forget(id);
    const count = await modelQueries.extendExpiry(this.db, this.model, id, expiresAt, exp);
    this.forget(id);
    return count > 0;
  }

  /**
   * Ends this model's rows of a grant. The provider calls it for each token model, and destroys
   * the Grant (the person's consent) itself only when its policy says so: revoking one access
   * token ends the grant's tokens but keeps the consent.
   */
  async revokeByGrantId(grantId: string): Promise<void> {
    await modelQueries.deleteByGrant(this.db, this.model, grantId);
  }
}

/** A replayed code or refresh token means it leaked: every token and code of the grant ends, and the grant itself. */
export async function revokeGrant(db: Knex, grantId: string): Promise<void> {
  await db.transaction((trx) => grantQueries.revokeOne(trx, grantId));
}

/** Deletes expired rows; run periodically. */
export async function deleteExpiredModels(db: Knex): Promise<number> {
  return modelQueries.deleteExpired(db);
}

/** Clients live in the clients table (see hub/clients.ts); the provider only reads them, through `load` (a cache, which also turns away ids Postgres would refuse). */
export class ClientAdapter extends KnexModelAdapter {
  private readonly load: (id: string) => Promise<Record<string, unknown> | undefined>;

  /** `writes`: the provider's shared ones, so that no second set is made (clients are never saved through the provider). */
  constructor(db: Knex, load: (id: string) => Promise<Record<string, unknown> | undefined>, writes: ModelWrites) {
    super(db, 'Client', undefined, writes);
    this.load = load;
  }

  override async find(id: string): Promise<AdapterPayload | undefined> {
    return (await this.load(id)) as AdapterPayload | undefined;
  }
}
