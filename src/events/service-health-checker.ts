import type { Knex } from 'knex';
import { Gauge, type Registry } from 'prom-client';
import { checkDueServices } from '../catalog/service-health.ts';
import type { Logger } from '../platform/logger.ts';
import { serviceQueries } from '../queries/services.ts';
import { PollingLoop } from './polling-loop.ts';

const batch = 20;

/**
 * Asks each active service's health URL every `intervalMs`. Every instance runs the loop; the
 * database hands each due check to one of them (services.ts claimDueHealthChecks), so a service is
 * asked once per interval however many instances there are. It looks for due checks at least
 * every 5 s, so a new health URL is asked soon.
 */
export function serviceHealthChecker({ db, logger, intervalMs, timeoutMs }: { db: Knex; logger: Logger; intervalMs: number; timeoutMs: number }): PollingLoop {
  return new PollingLoop({
    round: async () => (await checkDueServices(db, { intervalMs, timeoutMs, batch })) === batch,
    pollMs: Math.min(intervalMs, 5000),
    logger,
    failure: 'service health check failed',
  });
}

/** `uniqverse_service_up{service}`: 1 up, 0 down; a service whose health is unknown has no series. */
export function registerServiceHealthGauge(registry: Registry, db: Knex): Gauge {
  return new Gauge({
    name: 'uniqverse_service_up',
    aggregator: 'max',
    help: 'Whether the service answered its health URL (1 up, 0 down after two failed checks in a row); no series while unknown.',
    labelNames: ['service'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const { slug, health } of await serviceQueries.healthBySlug(db)) {
        if (health === 'up') this.set({ service: slug }, 1);
        else if (health === 'down') this.set({ service: slug }, 0);
      }
    },
  });
}
