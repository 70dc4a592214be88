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
  forService: (db: Knex, serviceId: string): Promise<ClientRow[]> => db('clients').where({ service_id: serviceId }).orderBy('created_at'),
};
