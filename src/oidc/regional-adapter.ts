import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { RegionRouter } from '../db/regions.ts';
import { personDirectory } from '../queries/person-directory.ts';
import { KnexModelAdapter } from './adapter.ts';
import { ModelWrites } from './model-writes.ts';

/**
 * The provider's models with data residency on. A model of a person (one with an accountId: a
 * session after sign-in, a grant, a code, a token) is written to their home region's database; one
 * of nobody (a session before sign-in, a client's own token) to the directory's. A look-up by id
 * asks every database at once (the id does not say where it lives), and the region it is found in
 * becomes the request's: the rest of a token request then reads and writes there. Spending and
 * ending go to where the row is found; revoking a grant to every database. A region whose
 * database is down stops only what lives there.
 *
 * No cache: one lookup by id is several statements here, and residency is about where data
 * lives, not speed (docs/residency.md).
 */
export class RegionalModelAdapter implements Adapter {
  private readonly router: RegionRouter;
  private readonly byDatabase: Array<{ region: string | null; adapter: KnexModelAdapter }>;

  constructor(router: RegionRouter, model: string, writes: ReadonlyMap<string | null, ModelWrites>) {
    this.router = router;
    this.byDatabase = router.all().map(({ region, db }) => ({ region, adapter: new KnexModelAdapter(db, model, undefined, writes.get(region)) }));
  }

  private async home(payload: AdapterPayload): Promise<KnexModelAdapter> {
    const region = typeof payload.accountId === 'string' ? await personDirectory.homeOf(this.router.db, payload.accountId) : null;
    return this.byDatabase.find((entry) => entry.region === region)!.adapter;
  }

  /**
   * A region whose database cannot be reached does not stop the others: a row found elsewhere is
   * the answer. Only when it is found nowhere and a database did not answer is that an error
   * (the row may be there), never a "no such session".
   */
  private async locate(find: (adapter: KnexModelAdapter) => Promise<AdapterPayload | undefined>): Promise<{ region: string | null; adapter: KnexModelAdapter; payload: AdapterPayload } | null> {
    const found = await Promise.allSettled(this.byDatabase.map(async ({ region, adapter }) => ({ region, adapter, payload: await find(adapter) })));
    for (const entry of found) if (entry.status === 'fulfilled' && entry.value.payload) return entry.value as { region: string | null; adapter: KnexModelAdapter; payload: AdapterPayload };
    const failed = found.find((entry) => entry.status === 'rejected');
    if (failed) throw failed.reason;
    return null;
  }

  private async first(find: (adapter: KnexModelAdapter) => Promise<AdapterPayload | undefined>): Promise<AdapterPayload | undefined> {
    const hit = await this.locate(find);
    if (hit?.region) this.router.claimIfOpen(hit.region);
    return hit?.payload;
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
    await (await this.home(payload)).upsert(id, payload, expiresIn);
  }

  find(id: string): Promise<AdapterPayload | undefined> {
    return this.first((adapter) => adapter.find(id));
  }

  findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return this.first((adapter) => adapter.findByUid(uid));
  }

  findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return this.first((adapter) => adapter.findByUserCode(userCode));
  }

  async consume(id: string): Promise<void> {
    // Spent where it lives: the others have no such row, and would call it replayed.
    const holder = (await this.locate((adapter) => adapter.find(id)))?.adapter ?? this.byDatabase[0]!.adapter;
    await holder.consume(id);
  }

  /** Where the row lives; a row found nowhere while some database did not answer is an error (it may be there), not a row gone. */
  async destroy(id: string): Promise<void> {
    await (await this.locate((adapter) => adapter.find(id)))?.adapter.destroy(id);
  }

  async extendExpiry(id: string, exp: number): Promise<boolean> {
    const hit = await this.locate((adapter) => adapter.find(id));
    return hit ? hit.adapter.extendExpiry(id, exp) : false;
  }

  /** Everywhere, and every database must answer: a revocation is never half done in silence. */
  async revokeByGrantId(grantId: string): Promise<void> {
    await Promise.all(this.byDatabase.map(({ adapter }) => adapter.revokeByGrantId(grantId)));
  }
}

/** One ModelWrites per database: a group of writes is one statement, so it cannot span two. */
export function regionalModelWrites(router: RegionRouter): Map<string | null, ModelWrites> {
  return new Map(router.all().map(({ region, db }) => [region, new ModelWrites(db)]));
}
