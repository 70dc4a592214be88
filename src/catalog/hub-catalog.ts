import type { Knex } from 'knex';
import { entitlementQueries } from '../queries/entitlements.ts';
import { serviceQueries } from '../queries/services.ts';

export interface HubEntitlement {
  service: string;
  service_name: string;
  tier: string;
  expires_at: string | null;
  active: boolean;
}

const iso = (value: Date | string | null) => (value ? new Date(value).toISOString() : null);

/** The person's entitlements, each with whether it is in force now. */
export async function entitlementsOf(db: Knex, userId: string, now = new Date()): Promise<HubEntitlement[]> {
  const rows: Array<{ service: string; service_name: string; tier: string; expires_at: Date | null }> = await entitlementQueries.forUser(db, userId);
  return rows.map((r) => ({
    service: r.service,
    service_name: r.service_name,
    tier: r.tier,
    expires_at: iso(r.expires_at),
    active: !r.expires_at || new Date(r.expires_at) > now,
  }));
}

/** Every active service, with the person's entitlement there (null when they have none). */
export async function servicesFor(db: Knex, userId: string) {
  const [services, entitlements] = await Promise.all([serviceQueries.all(db), entitlementsOf(db, userId)]);
  const bySlug = new Map(entitlements.map((e) => [e.service, e]));
  return services
    .filter((s) => s.status === 'active')
    .map((s) => {
      const entitlement = bySlug.get(s.slug);
      return {
        slug: s.slug,
        name: s.name,
        url: s.url,
        first_party: s.first_party,
        status: s.status,
        health: s.health,
        entitlement: entitlement ? { tier: entitlement.tier, expires_at: entitlement.expires_at, active: entitlement.active } : null,
      };
    });
}

/** A service as the hub's API shows it: the catalogue entry, without its clients or limits. */
export interface HubService {
  id: string;
  slug: string;
  name: string;
  url: string | null;
  status: string;
  /** `up`, `down` or `unknown`, as the hub's health checks last saw it. */
  health: string;
}

const hubService = (s: { id: string; slug: string; name: string; url: string | null; status: string; health: string }): HubService => ({ id: s.id, slug: s.slug, name: s.name, url: s.url, status: s.status, health: s.health });

/** Every active service of the catalogue, by name (one statement, whatever their number). */
export async function activeServices(db: Knex): Promise<HubService[]> {
  return (await serviceQueries.all(db)).filter((s) => s.status === 'active').map(hubService);
}
