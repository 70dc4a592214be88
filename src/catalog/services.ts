import type { Knex } from 'knex';
import { z } from 'zod';
import { entryBy, type AuditActor } from '../audit/actors.ts';
import { appendAudit } from '../audit/audit-log.ts';
import { conflict, notFound } from '../platform/errors.ts';
import { appendEvent } from '../outbox/outbox.ts';
import { parseInput } from '../platform/validation.ts';
import { serviceQueries, type ServiceRow } from '../queries/services.ts';

export const slugSchema = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[a-z][a-z0-9-]{1,39}$/, 'Use 2 to 40 lower-case letters, digits or dashes, starting with a letter.');
const tierSchema = z.string().trim().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'Use a lower-case tier name such as basic or pro.');

/** Where the hub asks whether a service is up (GET, a 2xx within the timeout). */
export const healthUrlSchema = z.url({ protocol: /^https?$/, message: 'Enter an http(s) URL.' });

const newServiceSchema = z.object({
  slug: slugSchema,
  name: z.string().trim().min(1, 'Enter a name.').max(80),
  url: z.url({ protocol: /^https?$/, message: 'Enter an http(s) URL.' }).optional(),
  firstParty: z.boolean().default(false),
  defaultTier: tierSchema.optional(),
  resource: z.url({ message: 'Enter an absolute URI.' }).optional(),
  /** Where /gateway/<slug>/ forwards: operator-configured, so private addresses are allowed. */
  upstreamUrl: z.url({ protocol: /^https?$/, message: 'Enter an http(s) URL.' }).optional(),
  healthUrl: healthUrlSchema.optional(),
});

export type NewService = z.input<typeof newServiceSchema>;

/** The audience of a service's access tokens: a stable URN unless the service names its own. */
export const resourceForSlug = (slug: string) => `urn:veze:service:${slug}`;

export type PublicService = Pick<ServiceRow, 'slug' | 'name' | 'url' | 'resource' | 'first_party' | 'default_tier' | 'status' | 'health_url'>;

export function publicService(row: ServiceRow): PublicService {
  return {
    slug: row.slug,
    name: row.name,
    url: row.url,
    resource: row.resource,
    first_party: row.first_party,
    default_tier: row.default_tier,
    status: row.status,
    health_url: row.health_url,
  };
}

/** Registers a service and announces it (service.registered); `registeredBy` audits it in the same transaction. */
export async function createService(db: Knex, input: NewService, registeredBy?: AuditActor): Promise<ServiceRow> {
  const data = parseInput(newServiceSchema, input);
  return db.transaction(async (trx) => {
    if (await serviceQueries.bySlug(trx, data.slug)) throw conflict(`A service with slug "${data.slug}" already exists.`, { slug: 'Already taken.' });
    const resource = data.resource ?? resourceForSlug(data.slug);
    if (await serviceQueries.byResource(trx, resource)) throw conflict(`Resource ${resource} is already used by another service.`, { resource: 'Already used.' });
    const service = await serviceQueries.insert(trx, {
      slug: data.slug,
      name: data.name,
      url: data.url ?? null,
      resource,
      first_party: data.firstParty,
      default_tier: data.defaultTier ?? null,
      upstream_url: data.upstreamUrl ?? null,
      health_url: data.healthUrl ?? null,
    });
    await appendEvent(trx, { type: 'service.registered', service: service.slug, data: publicService(service) as unknown as Record<string, unknown> });
    if (registeredBy) {
      await appendAudit(trx, entryBy(registeredBy, { action: 'service.registered', data: { slug: service.slug, first_party: service.first_party, default_tier: service.default_tier } }));
    }
    return service;
  });
}

export async function requireService(db: Knex, slug: string): Promise<ServiceRow> {
  const service = await serviceQueries.bySlug(db, slug.trim().toLowerCase());
  if (!service) throw notFound(`No service with slug "${slug}".`);
  return service;
}

export { tierSchema };

/** Sets where the hub asks a service's health (null: it is not asked, its health is unknown); audited. */
export async function setServiceHealthUrl(db: Knex, slug: string, healthUrl: string | null, by: AuditActor): Promise<ServiceRow> {
  const url = healthUrl === null ? null : parseInput(z.object({ healthUrl: healthUrlSchema }), { healthUrl }).healthUrl;
  return db.transaction(async (trx) => {
    const service = await requireService(trx, slug);
    if (service.health_url === url) return service;
    await serviceQueries.setHealthUrl(trx, service.id, url);
    await appendAudit(trx, entryBy(by, { action: 'service.health_url_changed', data: { slug: service.slug, health_url: url, previous_health_url: service.health_url } }));
    return (await serviceQueries.byId(trx, service.id))!;
  });
}
