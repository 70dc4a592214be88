import type { Knex } from 'knex';
import { appendAudit } from '../audit/audit-log.ts';
import { appendEvent } from '../outbox/outbox.ts';
import { serviceQueries } from '../queries/services.ts';
import { requireService } from './services.ts';
import type { ActorOrigin } from '../audit/audit-log.ts';

export type ServiceStatus = 'active' | 'suspended';

/** What keeps services and clients in memory on this instance (the provider's caches). */
export interface CatalogCaches {
  services: { clear(): void };
  clients: { clear(): void };
}

/**
 * Suspends a service (its clients stop signing anyone in, its tokens stop being issued) or makes
 * it active again; the provider's caches forget it at once on this instance.
 */
export async function setServiceStatus(db: Knex, caches: CatalogCaches, slug: string, status: ServiceStatus, origin: ActorOrigin): Promise<void> {
  const service = await requireService(db, slug);
  if (service.status === status) return;
  await db.transaction(async (trx) => {
    await serviceQueries.setStatus(trx, service.id, status);
    const data = { slug: service.slug, status, previous_status: service.status, health: service.health };
    await appendEvent(trx, { type: 'service.status_changed', service: service.slug, data });
    await appendAudit(trx, { action: 'service.status_changed', actorId: origin.actorId, ip: origin.ip, userAgent: origin.userAgent, data });
  });
  caches.services.clear();
  caches.clients.clear();
}
