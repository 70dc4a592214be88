import type { Knex } from 'knex';

export interface ClientRow {
  client_id: string;
  service_id: string | null;
  type: ClientType;
  client_secret_sealed: string | null;
  metadata: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
}

export const clientTypes = ['web', 'native', 'device', 'extension', 'portal'] as const;
export type ClientType = (typeof clientTypes)[number];

export const clientQueries = {
  byId: (db: Knex, clientId: string) =>
    db('clients as c')
      .leftJoin('services as s', 's.id', 'c.service_id')
      .where('c.client_id', clientId)
      .first<(ClientRow & { service_slug: string | null; service_name: string | null; first_party: boolean | null; service_status: string | null }) | undefined>(
        'c.*',
        's.slug as service_slug',
        's.name as service_name',
        's.first_party',
        's.status as service_status',
      ),
  /** The row alone, without its service. */
  rowById: (db: Knex, clientId: string): Promise<ClientRow | undefined> => db('clients').where({ client_id: clientId }).first(),
  forService: (db: Knex, serviceId: string): Promise<ClientRow[]> => db('clients').where({ service_id: serviceId }).orderBy('created_at'),
  /** The service each of these clients belongs to (clients of no service are left out). */
  withServices: (db: Knex, clientIds: string[]): Promise<Array<{ client_id: string; slug: string; name: string; url: string | null; metadata: { client_name?: string } }>> =>
    db('clients as c').join('services as s', 's.id', 'c.service_id').whereIn('c.client_id', clientIds).select('c.client_id', 's.slug', 's.name', 's.url', 'c.metadata'),
  /** The API rate limits of the client's service (undefined for an unknown client). */
  serviceRateLimits: (db: Knex, clientId: string) =>
    db('clients')
      .leftJoin('services', 'services.id', 'clients.service_id')
      .where('clients.client_id', clientId)
      .first<{ token_rate_limit: number | null; events_rate_limit: number | null; hub_rate_limit: number | null } | undefined>(
        'services.token_rate_limit',
        'services.events_rate_limit',
        'services.hub_rate_limit',
      ),
  /** Every client's id, type and metadata (the origins browsers may call from). */
  allMetadata: (db: Knex): Promise<Array<Pick<ClientRow, 'client_id' | 'type' | 'metadata'>>> => db('clients').select('client_id', 'type', 'metadata'),
  insert: (trx: Knex, row: Pick<ClientRow, 'client_id' | 'service_id' | 'type' | 'client_secret_sealed' | 'metadata'>) => trx('clients').insert(row),
  setMetadata: (trx: Knex, clientId: string, metadata: Record<string, unknown>) =>
    trx('clients').where({ client_id: clientId }).update({ metadata, updated_at: trx.fn.now() }),
};
