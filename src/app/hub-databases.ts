import type { Knex } from 'knex';
import { openDatabase, type Database } from '../db/database.ts';
import { RegionRouter } from '../db/regions.ts';
import type { Config, DatabaseTarget } from '../platform/config.ts';
import { deriveKey } from '../platform/crypto/secret-box.ts';

export interface RegionDatabase {
  region: string;
  database: Database;
}

/**
 * The hub's databases: one, or with data residency the directory's and one per region. `db` is
 * what every module is given: the one database, or the router's stand-in (src/db/regions.ts).
 */
export interface HubDatabases {
  db: Knex;
  /** DATABASE_URL's database (the embedded one without it): with residency, the directory and the catalogue. */
  main: Database;
  regions: RegionDatabase[];
  router: RegionRouter | null;
  /** Every database with its target: the main one first. */
  each(): Array<{ region: string | null; db: Knex; target: DatabaseTarget }>;
  close(): Promise<void>;
}

export async function openHubDatabases(config: Pick<Config, 'database' | 'regions' | 'defaultRegion' | 'secret'>): Promise<HubDatabases> {
  const main = await openDatabase(config.database);
  const regions: RegionDatabase[] = [];
  try {
    for (const { region, database } of config.regions) regions.push({ region, database: await openDatabase(database) });
  } catch (error) {
    for (const opened of regions) await opened.database.close();
    await main.close();
    throw error;
  }
  const router = regions.length ? new RegionRouter(main.db, new Map(regions.map((r) => [r.region, r.database.db])), config.defaultRegion!, deriveKey(config.secret, 'person-directory-email')) : null;
  return {
    db: router?.db ?? main.db,
    main,
    regions,
    router,
    each: () => [{ region: null, db: main.db, target: main.target }, ...regions.map((r) => ({ region: r.region, db: r.database.db, target: r.database.target }))],
    async close() {
      for (const opened of regions) await opened.database.close();
      await main.close();
    },
  };
}
