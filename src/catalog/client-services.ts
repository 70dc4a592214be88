import type { Knex } from 'knex';
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
  const rows: Array<{ client_id: string; slug: string; name: string; url: string | null; metadata: { client_name?: string } }> = ids.length
    ? await db('clients as c').join('services as s', 's.id', 'c.service_id').whereIn('c.client_id', ids).select('c.client_id', 's.slug', 's.name', 's.url', 'c.metadata')
    : [];
  for (const row of rows) map.set(row.client_id, { clientId: row.client_id, slug: row.slug, name: row.name, url: row.url });
  for (const id of ids) if (!map.has(id)) map.set(id, { clientId: id, slug: null, name: id, url: null });
  return map;
}
