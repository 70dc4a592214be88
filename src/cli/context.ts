import type { Knex } from 'knex';
import { ConfigError, type Config } from '../platform/config.ts';
import { openHubDatabases } from '../app/hub-databases.ts';
import { copyCatalog } from '../catalog/catalog-copies.ts';
import { migrateSchema } from '../db/migrate.ts';
import { createSecrets } from '../platform/crypto/hub-secrets.ts';
import { sealAuditWith } from '../audit/personal-seal.ts';
import { PasswordHasher } from '../identity/password-hashing.ts';
import { loadKeySet } from '../oidc/signing-keys.ts';

/** What a command works with: the same database, secrets and hasher the hub uses. */
export interface CliContext {
  config: Config;
  db: Knex;
  secrets: ReturnType<typeof createSecrets>;
  hasher: PasswordHasher;
  /** Migrations this run applied before the command (every command starts on the latest schema). */
  migrated: string[];
  /** With data residency: copies the catalogue into the regions now (a command that made a service and then acts for a person in it). */
  copyCatalog?(): Promise<void>;
}

export async function openCliContext(config: Config): Promise<CliContext & { close(): Promise<void> }> {
  const database = await openHubDatabases(config);
  try {
    // With data residency, every region's database is migrated too; `db` then routes each person's work to their region.
    const migrated: string[] = [];
    for (const each of database.each()) {
      const ran = await migrateSchema(each.db, config.migrationDatabaseUrl);
      if (each.region === null) migrated.push(...ran);
      sealAuditWith(each.db, config.secret);
    }
    const secrets = createSecrets(config.secret);
    await checkMasterSecret(database.main.db, secrets.keys);
    // The regions' copies of the catalogue, brought up to date before the command and again after it (a hub running copies on its own).
    const router = database.router;
    if (router) await copyCatalog(router);
    return {
      config,
      db: database.db,
      secrets,
      hasher: new PasswordHasher(),
      migrated,
      copyCatalog: async () => {
        if (router) await copyCatalog(router);
      },
      async close() {
        try {
          if (router) await copyCatalog(router);
        } finally {
          await database.close();
        }
      },
    };
  } catch (error) {
    await database.close();
    throw error;
  }
}

/**
 * A CLI run with another master secret than the hub's (say, without the hub's DATA_DIR, so a new
 * development secret was generated) would seal client secrets and signing keys the hub cannot
 * open. If the keys already in the database do not open, stop before writing anything.
 */
async function checkMasterSecret(db: Knex, keys: ReturnType<typeof createSecrets>['keys']): Promise<void> {
  try {
    await loadKeySet(db, keys);
  } catch (error) {
    // loadKeySet words it for the hub; the command line has its own advice.
    if (!(error instanceof ConfigError) && !/unable to authenticate data|not a sealed secret/.test((error as Error).message)) throw error;
    throw new ConfigError(
      "UNIQVERSE_SECRET: it does not open the signing keys in this database. Run the CLI with the hub's UNIQVERSE_SECRET (or the hub's DATA_DIR, where a generated development secret is kept).",
    );
  }
}
