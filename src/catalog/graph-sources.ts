import type { Knex } from 'knex';
import { entryBy, type AuditActor } from '../audit/actors.ts';
import { appendAudit } from '../audit/audit-log.ts';
import { appendEvent } from '../outbox/outbox.ts';
import { graphSourceQueries } from '../queries/service-graph-sources.ts';
import { requireService } from './services.ts';

/** A service's declared part of /graphql (src/web/graphql/service-graph.ts reads it). */
export interface DeclaredGraphSource {
  slug: string;
  name: string;
  sdl: string;
}

/**
 * Checks the declarations as they would be once this one is saved, and says which Query fields the
 * given service's declaration answers; throws AppError (400) when they do not make one schema.
 */
export type GraphSourceCheck = (sources: DeclaredGraphSource[], slug: string) => string[];

/** Every declared source, the order the schema grows in. */
export async function graphSources(db: Knex): Promise<DeclaredGraphSource[]> {
  return (await graphSourceQueries.all(db)).map(({ slug, name, sdl }) => ({ slug, name, sdl }));
}

/**
 * Declares (or replaces) the part of /graphql a service answers, once it joins the hub's schema and
 * the other services' parts; audited, and announced as service.graph_changed with its fields.
 */
export async function declareGraphSource(db: Knex, slug: string, sdl: string, check: GraphSourceCheck, actor: AuditActor): Promise<string[]> {
  const service = await requireService(db, slug);
  return db.transaction(async (trx) => {
    const others = (await graphSources(trx)).filter((s) => s.slug !== service.slug);
    const fields = check([...others, { slug: service.slug, name: service.name, sdl }], service.slug);
    await graphSourceQueries.save(trx, service.id, sdl);
    const data = { slug: service.slug, fields };
    await appendEvent(trx, { type: 'service.graph_changed', service: service.slug, data });
    await appendAudit(trx, entryBy(actor, { action: 'service.graph_changed', data }));
    return fields;
  });
}

/** Takes a service's fields out of /graphql; false when it had declared none. */
export async function removeGraphSource(db: Knex, slug: string, actor: AuditActor): Promise<boolean> {
  const service = await requireService(db, slug);
  return db.transaction(async (trx) => {
    if (!(await graphSourceQueries.remove(trx, service.id))) return false;
    const data = { slug: service.slug, fields: [] };
    await appendEvent(trx, { type: 'service.graph_changed', service: service.slug, data });
    await appendAudit(trx, entryBy(actor, { action: 'service.graph_changed', data }));
    return true;
  });
}
