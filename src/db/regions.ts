import { AsyncLocalStorage } from 'node:async_hooks';
import type { Knex } from 'knex';

/**
 * Data residency: one database per region, and the directory database beside them. Code keeps
 * one `db`: a stand-in that sends each statement to the database of the region the work at hand
 * belongs to (the person it is for), or to the directory when it belongs to no region. That region
 * is held for a unit of work (a request, a job) in a slot: `within` opens one, `claim` fills it
 * once the person is known (their session, their token, their email), and everything the work
 * does afterwards, however deep, reaches their region's database. A transaction stays on the
 * database it began on.
 *
 * Like Rails' `connected_to(shard:)`, but the shard is found as the request goes, not named up front.
 */
class RegionSlot {
  region: string | null;
  constructor(region: string | null) {
    this.region = region;
  }
}

const slots = new AsyncLocalStorage<RegionSlot>();

export class RegionConflict extends Error {
  override name = 'RegionConflict';
}

export class RegionRouter {
  readonly directory: Knex;
  readonly regions: ReadonlyMap<string, Knex>;
  readonly defaultRegion: string;
  /** The key of the directory's email hashes (HMAC-SHA256): who holds the directory alone cannot test an address. */
  readonly emailKey: Buffer;
  /** The stand-in every module is given as `db`. */
  readonly db: Knex;
  /** Person id → home region, as the directory said (a move drops the entry); the most recent `maxHomes`. */
  readonly homes = new Map<string, string>();
  private readonly maxHomes = 100_000;

  constructor(directory: Knex, regions: ReadonlyMap<string, Knex>, defaultRegion: string, emailKey: Buffer) {
    if (!regions.has(defaultRegion)) throw new Error(`no database for the default region ${defaultRegion}`);
    this.directory = directory;
    this.regions = regions;
    this.defaultRegion = defaultRegion;
    this.emailKey = emailKey;
    this.db = routedKnex(this);
    routers.set(this.db, this);
  }

  /** The database of the slot's region, or the directory's. */
  current(): Knex {
    const region = slots.getStore()?.region;
    return region ? this.regionDb(region) : this.directory;
  }

  currentRegion(): string | null {
    return slots.getStore()?.region ?? null;
  }

  regionDb(region: string): Knex {
    const db = this.regions.get(region);
    if (!db) throw new Error(`no database for region ${region}`);
    return db;
  }

  /** The directory first, then each region. */
  all(): Array<{ region: string | null; db: Knex }> {
    return [{ region: null, db: this.directory }, ...[...this.regions].map(([region, db]) => ({ region, db }))];
  }

  /**
   * The work in hand belongs to `region` from here on. A slot holds one region: work that finds
   * itself in a second one (a session of one person, a token of another) is refused rather than
   * written to the wrong place.
   */
  claim(region: string): void {
    const slot = slots.getStore();
    if (!slot) throw new Error('claim outside a unit of work: wrap the request or job in RegionRouter.within');
    if (slot.region && slot.region !== region) throw new RegionConflict(`this request is for region ${slot.region}, not ${region}`);
    this.regionDb(region);
    slot.region = region;
  }

  inUnitOfWork(): boolean {
    return slots.getStore() !== undefined;
  }

  /** Keeps where a person lives, forgetting the longest-known when full. */
  remember(userId: string, region: string): void {
    this.homes.delete(userId);
    this.homes.set(userId, region);
    if (this.homes.size > this.maxHomes) this.homes.delete(this.homes.keys().next().value!);
  }

  /**
   * The work in hand is about someone of `region` from here on, whatever it was about before: a
   * sign-in by email while another person's session was read. What was written before stays where
   * it went; only what follows moves.
   */
  switchTo(region: string): void {
    const slot = slots.getStore();
    if (!slot) throw new Error('switchTo outside a unit of work: wrap the request or job in RegionRouter.within');
    this.regionDb(region);
    slot.region = region;
  }

  /** Claims `region` for work in a slot that holds none yet; otherwise nothing (outside a unit of work, or one already placed). */
  claimIfOpen(region: string): void {
    const slot = slots.getStore();
    if (slot && !slot.region) this.claim(region);
  }

  /** Runs `work` in a slot of its own: with `region`, or empty until something claims one. */
  within<T>(work: () => T, region: string | null = null): T {
    return slots.run(new RegionSlot(region), work);
  }
}

const routers = new WeakMap<object, RegionRouter>();

/**
 * Runs `look` on each database in turn (the directory's, then each region's) until one finds
 * something; the work in hand then moves to that region. For a row known only by a key that names
 * no person (an interaction's pending second factor). With residency off, `look` runs once.
 */
export async function findInAnyRegion<T>(db: Knex, look: (db: Knex) => Promise<T | undefined>): Promise<T | undefined> {
  const router = routers.get(db);
  if (!router) return look(db);
  for (const { region, db: each } of router.all()) {
    const found = await look(each);
    if (found === undefined) continue;
    if (region && router.inUnitOfWork()) router.switchTo(region);
    return found;
  }
  return undefined;
}

/** Runs `work` against `region`'s database in a unit of its own (an administrator's look at one region); with residency off, as it is. */
export function inRegion<T>(db: Knex, region: string, work: () => T): T {
  const router = routers.get(db);
  return router ? router.within(work, region) : work();
}

/** The router behind a routed `db`; null for a plain one (residency off). */
export function routerOf(db: Knex | Knex.Transaction): RegionRouter | null {
  return routers.get(db) ?? null;
}

function routedKnex(router: RegionRouter): Knex {
  // The target only gives the proxy a callable shape; every use reaches the database of the moment.
  const target = function routed() {} as unknown as Knex;
  return new Proxy(target, {
    apply(_target, _this, args: unknown[]) {
      return (router.current() as unknown as (...a: unknown[]) => unknown)(...args);
    },
    get(_target, property) {
      const db = router.current();
      const value = Reflect.get(db, property, db) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(db) : value;
    },
  });
}
