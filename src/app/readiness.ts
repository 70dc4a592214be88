import type { Knex } from 'knex';
import { migrationProblem } from '../db/migrate.ts';
import type { EventBus } from '../events/bus.ts';
import type { ProviderHolder } from '../oidc/provider-holder.ts';
import type { ReadinessCheck } from '../web/http/health.ts';

/** The migrations cannot change under a running hub unless someone migrates it: read at most this often. */
export const migrationCheckMs = 30_000;

/** A check whose answer (ok, or what is wrong) is kept for `ms`; a failure to ask at all is not kept. */
function remembered(ask: () => Promise<string | null>, ms: number): () => Promise<void> {
  let kept: { problem: string | null; at: number } | null = null;
  return async () => {
    if (!kept || Date.now() - kept.at >= ms) kept = { problem: await ask(), at: Date.now() };
    if (kept.problem) throw new Error(kept.problem);
  };
}

/**
 * What the hub cannot serve without, besides the database /readyz always asks: Redis when it is
 * configured, the schema at the migration this code ships, and a signing key for each alg.
 */
export function readinessChecks({ db, bus, holder, redis }: { db: Knex; bus: EventBus; holder: ProviderHolder; redis: boolean }): ReadinessCheck[] {
  return [
    ...(redis ? [{ name: 'redis', check: () => bus.ping() }] : []),
    { name: 'migrations', check: remembered(() => migrationProblem(db), migrationCheckMs) },
    {
      name: 'signing_keys',
      check: async () => {
        const problem = holder.signingProblem();
        if (problem) throw new Error(problem);
      },
    },
  ];
}
