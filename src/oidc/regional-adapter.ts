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
 * becomes the request's: the rest of a token request then reads and writes there. Spending,
 * ending and revoking go to every database, which is where the row can be.
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

  private async first(find: (adapter: KnexModelAdapter) => Promise<AdapterPayload | undefined>): Promise<AdapterPayload | undefined> {
    const found = await Promise.all(this.byDatabase.map(async ({ region, adapter }) => ({ region, payload: await find(adapter) })));
    const hit = found.find((entry) => entry.payload);
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
    const holders = await Promise.all(this.byDatabase.map(async ({ adapter }) => ((await adapter.find(id)) ? adapter : null)));
    const holder = holders.find(Boolean) ?? this.byDatabase[0]!.adapter;
    await holder.consume(id);
  }

  async destroy(id: string): Promise<void> {
    await Promise.all(this.byDatabase.map(({ adapter }) => adapter.destroy(id)));
  }

  async extendExpiry(id: string, exp: number): Promise<boolean> {
    const moved = await Promise.all(this.byDatabase.map(({ adapter }) => adapter.extendExpiry(id, exp)));
    return moved.some(Boolean);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await Promise.all(this.byDatabase.map(({ adapter }) => adapter.revokeByGrantId(grantId)));
  }
}

/** One ModelWrites per database: a group of writes is one statement, so it cannot span two. */
export function regionalModelWrites(router: RegionRouter): Map<string | null, ModelWrites> {
  return new Map(router.all().map(({ region, db }) => [region, new ModelWrites(db)]));
}
