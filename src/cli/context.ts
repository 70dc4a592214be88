import type { Knex } from 'knex';
import type { Config } from '../config/config.ts';
import { openDatabase } from '../db/database.ts';
import { migrateToLatest } from '../db/migrate.ts';
import { createSecrets } from '../crypto/hub-secrets.ts';
import { PasswordHasher } from '../identity/password-hashing.ts';

/** What a command works with: the same database, secrets and hasher the hub uses. */
export interface CliContext {
  config: Config;
  db: Knex;
  secrets: ReturnType<typeof createSecrets>;
  hasher: PasswordHasher;
  /** Migrations this run applied before the command (every command starts on the latest schema). */
  migrated: string[];
}

export async function openCliContext(config: Config): Promise<CliContext & { close(): Promise<void> }> {
  const database = await openDatabase(config.database);
  try {
    const migrated = await migrateToLatest(database.db);
    return {
      config,
      db: database.db,
      secrets: createSecrets(config.secret),
      hasher: new PasswordHasher(),
      migrated,
      close: () => database.close(),
    };
  } catch (error) {
    await database.close();
    throw error;
  }
}
