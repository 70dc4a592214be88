import type { Knex } from 'knex';
import { TtlCache } from '../platform/cache.ts';
import { cannotBeStored } from '../db/refused-characters.ts';
import { apiRateDefaults, type ApiRateScope } from '../platform/rate-limits.ts';
import { entryBy, type AuditActor } from '../audit/actors.ts';
import { appendAudit } from '../audit/audit-log.ts';
import { AppError, notFound } from '../platform/errors.ts';
import { clientQueries } from '../queries/clients.ts';
import { serviceQueries, type ServiceRow } from '../queries/services.ts';

export type ServiceRates = Record<ApiRateScope, number>;

/** A service's limits: what an administrator set, else the defaults. */
export const ratesOf = (service: Pick<ServiceRow, 'token_rate_limit' | 'events_rate_limit' | 'hub_rate_limit'> | undefined): ServiceRates => ({
  token: service?.token_rate_limit ?? apiRateDefaults.token,
  events: service?.events_rate_limit ?? apiRateDefaults.events,
  hub: service?.hub_rate_limit ?? apiRateDefaults.hub,
});

/**
 * The limits of a client's service, by client id, kept 30 s per instance (as the provider keeps
 * clients): the token endpoint asks on every request, and a change shows within 30 s.
 */
export class ServiceRateLimits {
  private readonly db: Knex;
  private readonly cache = new TtlCache<string, ServiceRates>(30_000);

  constructor(db: Knex) {
    this.db = db;
  }

  async ofClient(clientId: string): Promise<ServiceRates> {
    if (cannotBeStored(clientId) || clientId.length > 256) return ratesOf(undefined);
    return (
      (await this.cache.get(clientId, async () => {
        const row = await clientQueries.serviceRateLimits(this.db, clientId);
        // An unknown client id gets the defaults (and is refused by the provider anyway).
        return ratesOf(row);
      })) ?? ratesOf(undefined)
    );
  }
}

const columns: Record<ApiRateScope, 'token_rate_limit' | 'events_rate_limit' | 'hub_rate_limit'> = { token: 'token_rate_limit', events: 'events_rate_limit', hub: 'hub_rate_limit' };

/** One limit as typed: "default" (or empty) clears it; else a whole number of requests a minute, 1 to 1,000,000. */
export function parseRate(value: unknown, scope: ApiRateScope): number | null {
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : '';
  if (text === '' || text.toLowerCase() === 'default') return null;
  if (!/^\d{1,7}$/.test(text) || Number(text) < 1 || Number(text) > 1_000_000) {
    throw new AppError('invalid_input', `The ${scope} limit must be a whole number of requests a minute from 1 to 1000000, or "default".`, {
      fields: { [scope]: 'A whole number from 1 to 1000000, or "default".' },
    });
  }
  return Number(text);
}

/**
 * Sets a service's API rate limits (only the scopes given; null: back to the default), audited
 * as `service.rate_limits_changed` in the same transaction. Instances see it within 30 s.
 */
export async function setServiceRateLimits(db: Knex, slug: string, input: Partial<Record<ApiRateScope, unknown>>, by: AuditActor): Promise<ServiceRow> {
  const changes: Partial<Record<(typeof columns)[ApiRateScope], number | null>> = {};
  for (const scope of Object.keys(columns) as ApiRateScope[]) if (scope in input) changes[columns[scope]] = parseRate(input[scope], scope);
  if (!Object.keys(changes).length) throw new AppError('invalid_input', 'Give at least one limit: token, events or hub.');
  return db.transaction(async (trx) => {
    const service = await serviceQueries.setRateLimits(trx, slug, changes);
    if (!service) throw notFound('There is no such service.');
    await appendAudit(trx, entryBy(by, { action: 'service.rate_limits_changed', subjectId: null, data: { slug, ...changes } }));
    return service;
  });
}
