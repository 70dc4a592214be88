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
  /** Where /gateway/<slug>/ forwards (an http(s) base URL); null: the service is not behind the gateway. */
  upstream_url: string | null;
  /** Where the hub asks whether the service is up (null: it is not asked, its health stays unknown). */
  health_url: string | null;
  health: string;
  health_failures: number;
  health_checked_at: Date | null;
  health_next_check_at: Date;
  created_at: Date;
  updated_at: Date;
}

/** A service as a person's services page lists it, with the tier they hold there (if any). */
export interface PersonServiceRow {
  id: string;
  slug: string;
  name: string;
  url: string | null;
  first_party: boolean;
  status: string;
  health: string;
  default_tier: string | null;
  tier: string | null;
  expires_at: Date | null;
}

export const serviceQueries = {
  all: (db: Knex): Promise<ServiceRow[]> => db('services').orderBy('name'),
  bySlug: (db: Knex, slug: string): Promise<ServiceRow | undefined> => db('services').where({ slug }).first(),
  byId: (db: Knex, id: string): Promise<ServiceRow | undefined> => db('services').where({ id }).first(),
  byResource: (db: Knex, resource: string): Promise<ServiceRow | undefined> => db('services').where({ resource }).first(),
  /** Every service's name by its slug (notifications). */
  namesBySlug: (db: Knex): Promise<Array<{ slug: string; name: string }>> => db('services').select('slug', 'name'),
  /** Every service's name by its id (the data export). */
  namesById: (db: Knex): Promise<Array<{ id: string; name: string }>> => db('services').select('id', 'name'),
  /** Active services that give new people a tier, by name. */
  activeWithDefaultTier: (trx: Knex): Promise<ServiceRow[]> =>
    trx('services').whereNotNull('default_tier').where({ status: 'active' }).orderBy('name'),
  /** The console's list: each service with how many clients it has. */
  listWithClientCounts: (db: Knex) =>
    db('services as s')
      .leftJoin('clients as c', 'c.service_id', 's.id')
      .groupBy('s.id')
      .orderBy('s.name')
      .select('s.id', 's.slug', 's.name', 's.url', 's.status', 's.first_party', 's.default_tier', 's.created_at', db.raw('count(c.client_id)::int as clients')),
  /** The services a person holds an entitlement with, every first-party one, and those named in `connected` (slugs), with their tier. */
  forPerson: (db: Knex, userId: string, connected: string[]): Promise<PersonServiceRow[]> =>
    db('services as s')
      .leftJoin('entitlements as e', (j) => j.on('e.service_id', 's.id').andOnVal('e.user_id', userId))
      .where((q) => q.whereNotNull('e.user_id').orWhere('s.first_party', true).orWhereIn('s.slug', connected))
      .orderBy('s.name')
      .select('s.id', 's.slug', 's.name', 's.url', 's.first_party', 's.status', 's.health', 's.default_tier', 'e.tier', 'e.expires_at'),
  insert: async (trx: Knex, row: Pick<ServiceRow, 'slug' | 'name' | 'url' | 'resource' | 'first_party' | 'default_tier' | 'health_url'> & Partial<Pick<ServiceRow, 'upstream_url'>>): Promise<ServiceRow> => {
    const [created] = await trx('services').insert(row).returning('*');
    return created as ServiceRow;
  },
  setUpstream: async (trx: Knex, id: string, upstreamUrl: string | null): Promise<ServiceRow> => {
    const [service] = await trx('services').where({ id }).update({ upstream_url: upstreamUrl, updated_at: trx.fn.now() }).returning<ServiceRow[]>('*');
    return service!;
  },
  setStatus: (trx: Knex, id: string, status: string) => trx('services').where({ id }).update({ status, updated_at: trx.fn.now() }),
  /** Sets the given limits (null: back to the default); the changed row, or undefined when there is no such service. */
  setRateLimits: async (trx: Knex, slug: string, changes: Partial<Pick<ServiceRow, 'token_rate_limit' | 'events_rate_limit' | 'hub_rate_limit'>>): Promise<ServiceRow | undefined> => {
    const [service] = await trx('services').where({ slug }).update({ ...changes, updated_at: trx.fn.now() }).returning<ServiceRow[]>('*');
    return service;
  },
  setHealthUrl: (trx: Knex, id: string, healthUrl: string | null) =>
    // A new URL has not been asked yet: unknown until its first answer, asked at once.
    trx('services').where({ id }).update({ health_url: healthUrl, health: 'unknown', health_failures: 0, health_checked_at: null, health_next_check_at: trx.fn.now(), updated_at: trx.fn.now() }),
  /**
   * Claims the active services with a health URL whose check is due, moving their next check
   * `intervalMs` on: an instance that claims one checks it, the others skip it until then.
   */
  claimDueHealthChecks: async (db: Knex, intervalMs: number, limit: number): Promise<Array<Pick<ServiceRow, 'id' | 'slug' | 'health_url'>>> => {
    const { rows } = await db.raw<{ rows: Array<Pick<ServiceRow, 'id' | 'slug' | 'health_url'>> }>(
      `update services set health_next_check_at = now() + make_interval(secs => ?)
        where id in (select id from services
                      where status = 'active' and health_url is not null and health_next_check_at <= now()
                      order by health_next_check_at limit ? for update skip locked)
        returning id, slug, health_url`,
      [intervalMs / 1000, limit],
    );
    return rows;
  },
  /** The row as it is now, locked until the transaction ends (a check's result is written against it). */
  lockHealth: (trx: Knex, id: string): Promise<Pick<ServiceRow, 'id' | 'slug' | 'status' | 'health' | 'health_failures' | 'health_url'> | undefined> =>
    trx('services').where({ id }).forUpdate().first('id', 'slug', 'status', 'health', 'health_failures', 'health_url'),
  setHealth: (trx: Knex, id: string, health: string, failures: number) =>
    trx('services').where({ id }).update({ health, health_failures: failures, health_checked_at: trx.fn.now() }),
  /** Each service's health (the metrics gauge). */
  healthBySlug: (db: Knex): Promise<Array<{ slug: string; health: string }>> => db('services').select('slug', 'health'),
};
