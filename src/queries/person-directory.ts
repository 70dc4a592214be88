import { createHmac, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { routerOf, type RegionRouter } from '../db/regions.ts';
import { badRequest } from '../platform/errors.ts';
import { listenForNotices } from '../db/notices.ts';
import type { DatabaseTarget } from '../platform/config.ts';
import type { Logger } from '../platform/logger.ts';

/**
 * The directory of data residency (migration 185), in the directory database: each person's id,
 * home region and a keyed hash of their email. The only module that reads or writes
 * `person_directory`. With residency off (a plain `db`), every function here does nothing.
 */
/** The same address in any case gives the same key (users.email is compared with lower()). */
export const emailKeyOf = (router: RegionRouter, email: string): Buffer => createHmac('sha256', router.emailKey).update(email.trim().toLowerCase()).digest();

async function homeOfPerson(router: RegionRouter, userId: string): Promise<string | null> {
  const known = router.homes.get(userId);
  if (known) return known;
  if (!/^[0-9a-f-]{36}$/i.test(userId)) return null;
  const row = (await router.directory('person_directory').where({ user_id: userId }).first('region')) as { region: string } | undefined;
  if (row) router.remember(userId, row.region);
  return row?.region ?? null;
}

export const directoryChannel = 'uniqverse_directory';

/** Keeps this instance's memory of who lives where true: a move or deletion anywhere drops the person's entry (migration 185's notices). */
export async function forgetMovedPeople(router: RegionRouter, target: DatabaseTarget, logger: Logger): Promise<() => Promise<void>> {
  return listenForNotices(router.directory, target, [directoryChannel], {
    onNotice: (_channel, userId) => router.homes.delete(userId),
    // Notices missed while the connection was down: forget everything, the directory is asked again.
    onListening: () => router.homes.clear(),
  }, logger);
}

export const personDirectory = {
  /** The person's home region, or null (no such person, or residency off). */
  homeOf: async (db: Knex, userId: string): Promise<string | null> => {
    const router = routerOf(db);
    return router ? homeOfPerson(router, userId) : null;
  },

  /**
   * The request is about this person from here on (a bearer token's subject): what follows reads
   * and writes their region. Nothing outside a unit of work, or for someone not in the directory.
   */
  claimHomeOfPerson: async (db: Knex, userId: string): Promise<void> => {
    const router = routerOf(db);
    if (!router?.inUnitOfWork()) return;
    const region = await homeOfPerson(router, userId);
    if (region) router.switchTo(region);
  },

  /**
   * Runs `work` against the person's home region: in the work in hand when it is theirs or not yet
   * anyone's (it becomes theirs), in a unit of its own when it belongs to someone elsewhere (an
   * administrator of one region acting on a person of another).
   */
  forPerson: async <T>(db: Knex, userId: string, work: () => Promise<T>): Promise<T> => {
    const router = routerOf(db);
    if (!router) return work();
    const region = await homeOfPerson(router, userId);
    if (!region) return work();
    const current = router.currentRegion();
    if (current === region) return work();
    if (current === null && router.inUnitOfWork()) {
      router.claim(region);
      return work();
    }
    return router.within(work, region);
  },

  /** `forPerson` for whoever has this email (an unknown address: `work` runs where it is). */
  forEmail: async <T>(db: Knex, email: string, work: () => Promise<T>): Promise<T> => {
    const router = routerOf(db);
    if (!router) return work();
    const row = (await router.directory('person_directory').where({ email_key: emailKeyOf(router, email) }).first('user_id', 'region')) as { user_id: string; region: string } | undefined;
    if (!row) return work();
    router.remember(row.user_id, row.region);
    return personDirectory.forPerson(db, row.user_id, work);
  },

  /**
   * The request is about whoever has this email, from here on (a sign-in, a reset, a verification
   * by address); an unknown address claims nothing (the directory is where sign-up checks it is free).
   */
  claimHomeOfEmail: async (db: Knex, email: string): Promise<void> => {
    const router = routerOf(db);
    if (!router) return;
    const row = (await router.directory('person_directory').where({ email_key: emailKeyOf(router, email) }).first('user_id', 'region')) as { user_id: string; region: string } | undefined;
    if (!row) return;
    router.remember(row.user_id, row.region);
    // The request is now about whoever has the address (a sign-in while signed in as someone of another region switches account).
    router.switchTo(row.region);
  },

  /**
   * A new person's place: their id and email are entered in the directory in `region` (the
   * default when null); the caller then makes the account `forPerson` that id, in that region's
   * database. Returns the id the account must take, or null with residency off (the
   * database gives one), or 'taken' when the email is in the directory already (its unique key
   * decides between two sign-ups at once). `undo` removes the entry when the account could not be made.
   */
  place: async (db: Knex, email: string, region: string | null): Promise<{ id: string; undo(): Promise<void> } | 'taken' | null> => {
    const router = routerOf(db);
    if (!router) return null;
    const home = region ?? router.defaultRegion;
    if (!router.regions.has(home)) throw badRequest(`This hub keeps no data in region ${home}.`, { region: `Choose one of: ${[...router.regions.keys()].join(', ')}.` });
    const id = randomUUID();
    const inserted = (await router.directory('person_directory').insert({ user_id: id, region: home, email_key: emailKeyOf(router, email) }).onConflict('email_key').ignore().returning('user_id')) as unknown[];
    if (!inserted.length) return 'taken';
    router.remember(id, home);
    return {
      id,
      undo: async () => {
        router.homes.delete(id);
        await router.directory('person_directory').where({ user_id: id }).delete();
      },
    };
  },

  /** A changed email moves the person's key with it (null: residency off). */
  rekey: async (db: Knex, userId: string, email: string): Promise<void> => {
    const router = routerOf(db);
    if (!router) return;
    await router.directory('person_directory').where({ user_id: userId }).update({ email_key: emailKeyOf(router, email) });
  },

  /** The person is gone: so is their entry. */
  remove: async (db: Knex, userId: string): Promise<void> => {
    const router = routerOf(db);
    if (!router) return;
    router.homes.delete(userId);
    await router.directory('person_directory').where({ user_id: userId }).delete();
  },

  /** Whoever has this email, and where (null: nobody, or residency off). */
  entryOfEmail: async (db: Knex, email: string): Promise<{ user_id: string; region: string } | null> => {
    const router = routerOf(db);
    if (!router) return null;
    return ((await router.directory('person_directory').where({ email_key: emailKeyOf(router, email) }).first('user_id', 'region')) as { user_id: string; region: string } | undefined) ?? null;
  },

  /** The person's entry (null: not in the directory, or residency off): their export shows it. */
  entryOf: async (db: Knex, userId: string): Promise<{ region: string; placed_at: Date } | null> => {
    const router = routerOf(db);
    if (!router) return null;
    return ((await router.directory('person_directory').where({ user_id: userId }).first('region', 'placed_at')) as { region: string; placed_at: Date } | undefined) ?? null;
  },

  /** The databases of the regions other than the one at hand (what a person left behind when they moved: audit entries). */
  otherRegions: (db: Knex): Array<{ region: string; db: Knex }> => {
    const router = routerOf(db);
    if (!router) return [];
    const here = router.currentRegion();
    return [...router.regions].filter(([region]) => region !== here).map(([region, regionDb]) => ({ region, db: regionDb }));
  },

  /** The directory entry of a move, rewritten once the person's rows are in `region`. */
  move: async (router: RegionRouter, userId: string, region: string): Promise<void> => {
    await router.directory('person_directory').where({ user_id: userId }).update({ region });
    router.remember(userId, region);
  },
};
