import type { RegionRouter } from '../db/regions.ts';
import { copyTables } from '../db/table-copy.ts';
import { listenForNotices } from '../db/notices.ts';
import type { DatabaseTarget } from '../platform/config.ts';
import type { Logger } from '../platform/logger.ts';

/**
 * The service catalogue and the hub's keys, parents first: written in the directory database
 * only (by the admin console, the CLI, services' own API calls), and copied whole into every
 * region's database, where people's consents, entitlements, tokens and webhook deliveries refer
 * to them by foreign key and join them. Migration 185 has them announce each change.
 */
export const catalogTables = ['services', 'clients', 'webhooks', 'exchange_pairs', 'service_graph_sources', 'signing_keys', 'vapid_keys'] as const;

export const catalogChannel = 'uniqverse_catalog';

/** Copies the catalogue into every region now; a region that cannot be reached does not hold up the others (its error is thrown after). */
export async function copyCatalog(router: RegionRouter): Promise<number> {
  let changed = 0;
  let failure: unknown = null;
  for (const db of router.regions.values()) {
    try {
      changed += await copyTables(router.directory, db, catalogTables);
    } catch (error) {
      failure ??= error;
    }
  }
  if (failure) throw failure;
  return changed;
}

export interface CatalogCopier {
  /** Copies now, after any copy under way (the CLI's and the tests' way to not wait for a notice). */
  copyNow(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Keeps the regions' copies of the catalogue true: a copy on each change notice (changes arriving
 * during a copy are taken by one more copy after it), and one every `intervalMs` in case a notice
 * was missed while the listener reconnected.
 */
export async function startCatalogCopier(router: RegionRouter, target: DatabaseTarget, logger: Logger, intervalMs = 60_000): Promise<CatalogCopier> {
  let running: Promise<void> | null = null;
  let again = false;
  const copy = (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await copyCatalog(router).catch((error: unknown) => logger.error({ err: error }, 'could not copy the service catalogue into the regions\' databases'));
      } while (again);
      running = null;
    })();
    return running;
  };
  await copyCatalog(router);
  const unlisten = await listenForNotices(router.directory, target, [catalogChannel], { onNotice: () => void copy(), onListening: () => void copy() }, logger);
  const timer = setInterval(() => void copy(), intervalMs);
  timer.unref();
  return {
    copyNow: copy,
    async stop() {
      clearInterval(timer);
      await unlisten();
      await running;
    },
  };
}
