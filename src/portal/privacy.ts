import type { Knex } from 'knex';
import { appendAudit } from '../audit/audit-log.ts';
import { notFound } from '../errors.ts';
import { appendEvent } from '../events/outbox.ts';
import { consentQueries } from './consent-queries.ts';
import { grantQueries, type StoredGrant } from './grant-queries.ts';
import { servicesFor } from './service-access.ts';
import type { Origin } from './sessions.ts';

export interface ConsentChoice {
  profile: boolean;
  email: boolean;
  activity: boolean;
}

const claimsOf: Record<string, string[]> = { profile: ['name', 'preferred_username', 'updated_at'], email: ['email', 'email_verified'] };

/** A grant less the OpenID scopes (and their claims) the person turned off. */
function pruned(grant: StoredGrant, off: string[]) {
  const openid = grant.payload.openid ?? {};
  const scope = (openid.scope ?? '').split(' ').filter((s) => s && !off.includes(s)).join(' ');
  const dropped = off.flatMap((s) => claimsOf[s] ?? []);
  const claims = (openid.claims ?? []).filter((c) => !dropped.includes(c));
  return { ...grant.payload, openid: { ...openid, scope, claims } };
}

async function serviceOf(db: Knex, userId: string, slug: string) {
  const service = (await servicesFor(db, userId)).find((s) => s.slug === slug);
  if (!service) throw notFound('You do not use that service.');
  return service;
}

/**
 * What a service may receive: turning profile or email off takes them out of its grants at once
 * (refreshed tokens and userinfo stop carrying them); the choice is announced to the service.
 */
export async function setConsent(db: Knex, userId: string, slug: string, choice: ConsentChoice, origin: Origin = {}): Promise<void> {
  const service = await serviceOf(db, userId, slug);
  const off = [...(choice.profile ? [] : ['profile']), ...(choice.email ? [] : ['email'])];
  await db.transaction(async (trx) => {
    await consentQueries.save(trx, { user_id: userId, service_id: service.id, share_profile: choice.profile, share_email: choice.email, share_activity: choice.activity });
    if (off.length) {
      for (const grant of (await grantQueries.forUser(trx, userId)).filter((g) => service.grantIds.includes(g.id))) {
        await grantQueries.setScope(trx, grant.id, pruned(grant, off));
      }
    }
    const data = { service: service.slug, profile: choice.profile, email: choice.email, activity: choice.activity, connected: service.connected };
    await appendEvent(trx, { type: 'consent.changed', userId, service: service.slug, data });
    await appendAudit(trx, { action: 'consent.changed', actorId: origin.actorId ?? userId, subjectId: userId, ip: origin.ip, userAgent: origin.userAgent, data });
  });
}

/** Ends a service's connection: its grants, and every access and refresh token under them. */
export async function disconnectService(db: Knex, userId: string, slug: string, origin: Origin = {}): Promise<void> {
  const service = await serviceOf(db, userId, slug);
  await db.transaction(async (trx) => {
    await grantQueries.revoke(trx, service.grantIds);
    const data = { service: service.slug, connected: false, profile: service.consent.profile, email: service.consent.email, activity: service.consent.activity };
    await appendEvent(trx, { type: 'consent.changed', userId, service: service.slug, data });
    await appendAudit(trx, { action: 'consent.revoked', actorId: origin.actorId ?? userId, subjectId: userId, ip: origin.ip, userAgent: origin.userAgent, data: { service: service.slug } });
  });
}
