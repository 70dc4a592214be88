import type { Knex } from 'knex';

export interface ServiceRow {
  id: string;
  slug: string;
  name: string;
  url: string | null;
  resource: string;
  first_party: boolean;
  default_tier: string | null;
  status: string;
  scopes: string[];
  access_token_ttl: number;
  /** Requests per minute (null: the default): /token per client, POST /api/v1/events, /hub/* per person and client. */
  token_rate_limit: number | null;
  events_rate_limit: number | null;
  hub_rate_limit: number | null;
  created_at: Date;
  updated_at: Date;
}

export const serviceQueries = {
  all: (db: Knex): Promise<ServiceRow[]> => db('services').orderBy('name'),
  bySlug: (db: Knex, slug: string): Promise<ServiceRow | undefined> => db('services').where({ slug }).first(),
  byId: (db: Knex, id: string): Promise<ServiceRow | undefined> => db('services').where({ id }).first(),
  byResource: (db: Knex, resource: string): Promise<ServiceRow | undefined> => db('services').where({ resource }).first(),
};
