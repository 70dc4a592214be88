import type { Knex } from 'knex';
import { z } from 'zod';
import { entryBy, systemActor, type AuditActor } from '../audit/actors.ts';
import { appendAudit } from '../audit/audit-log.ts';
import { notFound } from '../platform/errors.ts';
import { appendEvent } from '../outbox/outbox.ts';
import { userQueries, type UserRow } from '../queries/users.ts';
import { personDirectory } from '../queries/person-directory.ts';
import { serviceQueries, type ServiceRow } from '../queries/services.ts';
import { parseInput } from '../platform/validation.ts';
import { entitlementQueries, type EntitlementRow } from '../queries/entitlements.ts';
import { requireService, tierSchema } from './services.ts';

const grantSchema = z.object({
  email: z.string().trim().email('Enter a valid email address.'),
  service: z.string().min(1, 'Name a service.'),
  tier: tierSchema,
  expires: z.iso.datetime({ offset: true, message: 'Use an ISO-8601 date-time such as 2027-01-01T00:00:00Z.' }).optional(),
});

export interface GrantedEntitlement {
  email: string;
  service: string;
  tier: string;
  expires_at: string | null;
  change: 'granted' | 'changed' | 'unchanged';
}

/**
 * Grants or changes a user's tier at a service; idempotent, and announces only real changes.
 * Given by someone (`grantedBy`: an administrator, the operator), it is audited in the same
 * transaction as entitlement.granted, .changed, or .confirmed when nothing changed.
 */
export async function grantEntitlement(db: Knex, input: z.input<typeof grantSchema>, grantedBy?: AuditActor): Promise<GrantedEntitlement> {
  const data = parseInput(grantSchema, input);
  // In the person's home region (data residency): the catalogue is copied there, so the service is found too.
  return personDirectory.forEmail(db, data.email, () => db.transaction(async (trx) => {
    const user = await userQueries.byEmail(trx, data.email);
    if (!user) throw notFound(`No user with email ${data.email}.`);
    const service = await requireService(trx, data.service);
    const expiresAt = data.expires ? new Date(data.expires) : null;
    const existing = await entitlementQueries.find(trx, user.id, service.id);
    const same = existing && existing.tier === data.tier && (existing.expires_at?.getTime() ?? null) === (expiresAt?.getTime() ?? null);
    const change = !existing ? 'granted' : same ? 'unchanged' : 'changed';
    if (change !== 'unchanged') {
      await entitlementQueries.put(trx, { user_id: user.id, service_id: service.id, tier: data.tier, expires_at: expiresAt });
      await appendEvent(trx, {
        type: `entitlement.${change}`,
        userId: user.id,
        service: service.slug,
        data: {
          email: user.email,
          name: user.name,
          service: service.slug,
          tier: data.tier,
          expires_at: expiresAt?.toISOString() ?? null,
          ...(existing ? { previous_tier: existing.tier } : {}),
        },
      });
    }
    const result: GrantedEntitlement = { email: user.email, service: service.slug, tier: data.tier, expires_at: expiresAt?.toISOString() ?? null, change };
    if (grantedBy) {
      const action = `entitlement.${change === 'unchanged' ? 'confirmed' : change}`;
      await appendAudit(trx, entryBy(grantedBy, { action, subjectId: user.id, data: { service: result.service, tier: result.tier, expires_at: result.expires_at } }));
    }
    return result;
  }));
}

const revokeSchema = z.object({
  email: z.string().trim().email('Enter a valid email address.'),
  service: z.string().min(1, 'Name a service.'),
});

export interface EndedEntitlement {
  email: string;
  service: string;
  tier: string;
  expires_at: string | null;
}

/** Announces and audits an entitlement that ended (`revoked` by someone, or `expired`), in the caller's transaction. */
async function recordEnd(trx: Knex, how: 'revoked' | 'expired', user: Pick<UserRow, 'id' | 'email' | 'name'>, service: Pick<ServiceRow, 'slug'>, row: EntitlementRow, actor: AuditActor): Promise<EndedEntitlement> {
  const ended: EndedEntitlement = { email: user.email, service: service.slug, tier: row.tier, expires_at: row.expires_at?.toISOString() ?? null };
  await appendEvent(trx, { type: `entitlement.${how}`, userId: user.id, service: service.slug, data: { ...ended, name: user.name } });
  await appendAudit(trx, entryBy(actor, { action: `entitlement.${how}`, subjectId: user.id, data: { service: ended.service, tier: ended.tier, expires_at: ended.expires_at } }));
  return ended;
}

/**
 * Ends a person's tier at a service: the row goes, `entitlement.revoked` is announced and the act
 * audited as `revokedBy`'s, all in one transaction. Nothing to end is a not-found error.
 */
export async function revokeEntitlement(db: Knex, input: z.input<typeof revokeSchema>, revokedBy: AuditActor): Promise<EndedEntitlement> {
  const data = parseInput(revokeSchema, input);
  return personDirectory.forEmail(db, data.email, () => db.transaction(async (trx) => {
    const user = await userQueries.byEmail(trx, data.email);
    if (!user) throw notFound(`No user with email ${data.email}.`);
    const service = await requireService(trx, data.service);
    const removed = await entitlementQueries.remove(trx, user.id, service.id);
    if (!removed) throw notFound(`${user.email} holds no tier at ${service.slug}.`);
    return recordEnd(trx, 'revoked', user, service, removed, revokedBy);
  }));
}

/**
 * Ends up to `limit` entitlements whose expiry has passed, each with its `entitlement.expired`
 * event and an audit entry by the system, in one transaction. Safe on many instances at once:
 * the rows are taken with SKIP LOCKED, so each expiry is announced once. Returns how many ended.
 */
export async function expireEntitlements(db: Knex, limit = 100): Promise<number> {
  return db.transaction(async (trx) => {
    const expired = await entitlementQueries.removeExpired(trx, limit);
    for (const row of expired) {
      const user = await userQueries.byId(trx, row.user_id);
      const service = await serviceQueries.byId(trx, row.service_id);
      if (!user || !service) continue;
      await recordEnd(trx, 'expired', user, service, row, systemActor('entitlement-expiry'));
    }
    return expired.length;
  });
}

const serviceTierSchema = z.object({
  tier: tierSchema,
  expires_at: z.iso.datetime({ offset: true, message: 'Use an ISO-8601 date-time with offset, such as 2027-01-01T00:00:00Z, or null.' }).nullable().optional(),
});
const subSchema = z.uuid('Give the person as their sub (the subject of their tokens).');

/** The person a service names by their sub; unknown or disabled is not found. */
async function personBySub(db: Knex, sub: string): Promise<UserRow> {
  const id = subSchema.safeParse(sub);
  const user = id.success ? await userQueries.byId(db, id.data) : undefined;
  if (!user || user.disabled_at) throw notFound(`No active person with sub ${sub}.`);
  return user;
}

/** A service sets a person's tier at itself (the caller decides which service that is: never another). */
export async function setTierAtService(db: Knex, service: Pick<ServiceRow, 'slug'>, sub: string, input: unknown, setBy: AuditActor): Promise<GrantedEntitlement> {
  const data = parseInput(serviceTierSchema, input);
  return db.transaction(async (trx) => {
    const user = await personBySub(trx, sub);
    return grantEntitlement(trx, { email: user.email, service: service.slug, tier: data.tier, ...(data.expires_at ? { expires: data.expires_at } : {}) }, setBy);
  });
}

/** A service ends a person's tier at itself. */
export async function endTierAtService(db: Knex, service: Pick<ServiceRow, 'slug'>, sub: string, endedBy: AuditActor): Promise<EndedEntitlement> {
  return db.transaction(async (trx) => {
    const user = await personBySub(trx, sub);
    return revokeEntitlement(trx, { email: user.email, service: service.slug }, endedBy);
  });
}
