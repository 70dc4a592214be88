import type { Knex } from 'knex';

/** A service's declared part of /graphql, with the service it belongs to. */
export interface GraphSourceRow {
  service_id: string;
  slug: string;
  name: string;
  status: string;
  sdl: string;
  updated_at: Date;
}

export const graphSourceQueries = {
  /** Every declared source, by service slug (the order the schema is extended in). */
  all: (db: Knex): Promise<GraphSourceRow[]> =>
    db('service_graph_sources as g')
      .join('services as s', 's.id', 'g.service_id')
      .select('g.service_id', 's.slug', 's.name', 's.status', 'g.sdl', 'g.updated_at')
      .orderBy('s.slug'),
  save: (trx: Knex, serviceId: string, sdl: string): Promise<unknown> =>
    trx('service_graph_sources').insert({ service_id: serviceId, sdl, updated_at: trx.fn.now() }).onConflict('service_id').merge(['sdl', 'updated_at']),
  remove: (trx: Knex, serviceId: string): Promise<number> => trx('service_graph_sources').where({ service_id: serviceId }).delete(),
};
