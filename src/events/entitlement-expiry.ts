import type { Knex } from 'knex';
import { expireEntitlements } from '../catalog/entitlements.ts';
import type { Logger } from '../platform/logger.ts';
import { PollingLoop } from './polling-loop.ts';

const batch = 100;

/**
 * Ends entitlements whose expiry has passed, every `intervalMs`, on every instance: each expiry
 * becomes one `entitlement.expired` (the rows are taken with SKIP LOCKED), so services and open
 * screens hear of it when it happens, not only the next token.
 */
export function entitlementExpirySweeper({ db, logger, intervalMs }: { db: Knex; logger: Logger; intervalMs: number }): PollingLoop {
  return new PollingLoop({
    // A full batch means more may be due: sweep again at once.
    round: async () => (await expireEntitlements(db, batch)) === batch,
    pollMs: intervalMs,
    logger,
    failure: 'entitlement expiry sweep failed',
  });
}
