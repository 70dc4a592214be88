import type { Knex } from 'knex';
import { z } from 'zod';
import { entryBy, type AuditActor } from '../audit/actors.ts';
import { appendAudit } from '../audit/audit-log.ts';
import { appendEvent } from '../outbox/outbox.ts';
import { AppError } from '../platform/errors.ts';
import { parseInput } from '../platform/validation.ts';
import { exchangePairQueries, type ExchangePairRow } from '../queries/exchange-pairs.ts';
import { serviceQueries, type ServiceRow } from '../queries/services.ts';
import { requireService } from './services.ts';

/**
 * Allows clients of service `from` to exchange a person's token for one toward service `to`
 * (RFC 8693 at /token): announced as `service.exchange_allowed` and audited in the same
 * transaction. Allowing a pair twice changes nothing and writes nothing.
 */
export async function allowExchange(db: Knex, fromSlug: string, toSlug: string, by: AuditActor): Promise<{ from: ServiceRow; to: ServiceRow; changed: boolean }> {
  const [from, to] = await pairOf(db, fromSlug, toSlug);
  const changed = await db.transaction(async (trx) => {
    if (!(await exchangePairQueries.insert(trx, from.id, to.id))) return false;
    await announce(trx, 'service.exchange_allowed', from, to, by);
    return true;
  });
  return { from, to, changed };
}

/** Ends a pair: `service.exchange_denied`, audited. Tokens exchanged before stay valid until they expire. */
export async function denyExchange(db: Knex, fromSlug: string, toSlug: string, by: AuditActor): Promise<{ from: ServiceRow; to: ServiceRow; changed: boolean }> {
  const [from, to] = await pairOf(db, fromSlug, toSlug);
  const changed = await db.transaction(async (trx) => {
    if (!(await exchangePairQueries.delete(trx, from.id, to.id))) return false;
    await announce(trx, 'service.exchange_denied', from, to, by);
    return true;
  });
  return { from, to, changed };
}

export const exchangePairsOf = (db: Knex, service: ServiceRow): Promise<ExchangePairRow[]> => exchangePairQueries.ofService(db, service.id);

async function pairOf(db: Knex, fromSlug: string, toSlug: string): Promise<[ServiceRow, ServiceRow]> {
  const from = await requireService(db, fromSlug);
  const to = await requireService(db, toSlug);
  if (from.id === to.id) throw new AppError('invalid_input', 'A service needs no pair with itself: its clients may always ask for its own tokens.');
  return [from, to];
}

async function announce(trx: Knex, type: string, from: ServiceRow, to: ServiceRow, by: AuditActor): Promise<void> {
  const data = { from: from.slug, to: to.slug };
  await appendEvent(trx, { type, service: from.slug, data });
  await appendAudit(trx, entryBy(by, { action: type, subjectId: null, data }));
}

const upstreamSchema = z.union([z.literal(''), z.url({ protocol: /^https?$/, message: 'Enter an http(s) URL (or nothing, to take the service off the gateway).' })]);

/**
 * Sets where /gateway/<slug>/ forwards (null or "": the gateway refuses the service). Operators
 * configure it, so private and loopback addresses are allowed (unlike push endpoints). Audited and
 * announced as `service.upstream_changed`.
 */
export async function setUpstream(db: Knex, slug: string, upstreamUrl: string | null, by: AuditActor): Promise<ServiceRow> {
  const value = parseInput(z.object({ upstream: upstreamSchema }), { upstream: (upstreamUrl ?? '').trim() }).upstream || null;
  const service = await requireService(db, slug);
  if (value && (new URL(value).search || new URL(value).hash)) throw new AppError('invalid_input', 'The upstream URL is a base: no query or fragment.', { fields: { upstream: 'No query or fragment.' } });
  if (service.upstream_url === value) return service;
  return db.transaction(async (trx) => {
    const updated = await serviceQueries.setUpstream(trx, service.id, value);
    const data = { slug: service.slug, upstream_url: value, previous_upstream_url: service.upstream_url };
    await appendEvent(trx, { type: 'service.upstream_changed', service: service.slug, data });
    await appendAudit(trx, entryBy(by, { action: 'service.upstream_changed', subjectId: null, data }));
    return updated;
  });
}
