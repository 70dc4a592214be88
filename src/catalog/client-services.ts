import type { Knex } from 'knex';
import { clientQueries } from '../queries/clients.ts';
import { portalClientId } from './clients.ts';

export interface ClientService {
  clientId: string;
  /** The service's slug, or null for the hub's own portal. */
  slug: string | null;
  name: string;
  url: string | null;
}

/** Which service each client belongs to, for showing grants and sessions by service name. */
export async function servicesOfClients(db: Knex, clientIds: string[]): Promise<Map<string, ClientService>> {
  const map = new Map<string, ClientService>();
  const ids = [...new Set(clientIds)];
  if (ids.includes(portalClientId)) map.set(portalClientId, { clientId: portalClientId, slug: null, name: 'UniQVerse account', url: null });
  const rows = ids.length ? await clientQueries.withServices(db, ids) : [];
  for (const row of rows) map.set(row.client_id, { clientId: row.client_id, slug: row.slug, name: row.name, url: row.url });
  for (const id of ids) if (!map.has(id)) map.set(id, { clientId: id, slug: null, name: id, url: null });
  return map;
}
