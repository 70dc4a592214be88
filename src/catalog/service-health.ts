import type { Knex } from 'knex';
import { entryBy, systemActor } from '../audit/actors.ts';
import { appendAudit } from '../audit/audit-log.ts';
import { appendEvent } from '../outbox/outbox.ts';
import { serviceQueries } from '../queries/services.ts';

export type ServiceHealth = 'unknown' | 'up' | 'down';

/** Failures in a row before a service that was up (or unknown) is called down: one blip is not an outage. */
export const failuresBeforeDown = 2;

/** What one answer makes of a service's health: up at once on a 2xx, down only after `failuresBeforeDown` failures in a row. */
export function nextHealth(previous: { health: string; health_failures: number }, ok: boolean): { health: ServiceHealth; failures: number } {
  if (ok) return { health: 'up', failures: 0 };
  const failures = previous.health_failures + 1;
  if (failures >= failuresBeforeDown) return { health: 'down', failures };
  return { health: previous.health as ServiceHealth, failures };
}

/** GETs a health URL: true for a 2xx within `timeoutMs`; redirects, other answers, errors and timeouts are failures. */
export async function probeHealthUrl(url: string, timeoutMs: number): Promise<boolean> {
  try {
    const response = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json, text/plain, */*' } });
    await response.body?.cancel();
    return response.status >= 200 && response.status < 300;
  } catch {
    return false;
  }
}

/**
 * Writes one check's answer; when the health changes, `service.status_changed` (with the status,
 * which did not change) and its audit entry go in the same transaction.
 * A URL changed while the check was on its way is not judged by the old URL's answer.
 */
export async function recordHealthCheck(db: Knex, serviceId: string, checkedUrl: string, ok: boolean): Promise<{ slug: string; health: ServiceHealth; previous: string } | null> {
  return db.transaction(async (trx) => {
    const service = await serviceQueries.lockHealth(trx, serviceId);
    if (!service || service.health_url !== checkedUrl) return null;
    const next = nextHealth(service, ok);
    await serviceQueries.setHealth(trx, service.id, next.health, next.failures);
    if (next.health !== service.health) {
      const data = { slug: service.slug, status: service.status, health: next.health, previous_health: service.health };
      await appendEvent(trx, { type: 'service.status_changed', service: service.slug, data });
      await appendAudit(trx, entryBy(systemActor('service-health'), { action: 'service.status_changed', data }));
    }
    return { slug: service.slug, health: next.health, previous: service.health };
  });
}

export interface HealthCheckOptions {
  intervalMs: number;
  timeoutMs: number;
  /** Services checked at once in one round. */
  batch?: number;
}

/**
 * One round: claims the services whose check is due (each is claimed by one instance per
 * interval, whatever the number of instances), asks each its health URL at once, and records the
 * answers. Returns how many it checked.
 */
export async function checkDueServices(db: Knex, { intervalMs, timeoutMs, batch = 20 }: HealthCheckOptions): Promise<number> {
  const due = await serviceQueries.claimDueHealthChecks(db, intervalMs, batch);
  await Promise.all(
    due.map(async (service) => {
      const ok = await probeHealthUrl(service.health_url!, timeoutMs);
      await recordHealthCheck(db, service.id, service.health_url!, ok);
    }),
  );
  return due.length;
}
