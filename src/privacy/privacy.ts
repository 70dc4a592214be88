import type { Knex } from 'knex';
import { appendAudit } from '../audit/audit-log.ts';
import { notFound } from '../platform/errors.ts';
import { appendEvent } from '../outbox/outbox.ts';
import { consentQueries } from '../queries/service-consents.ts';
import { grantQueries, type StoredGrant } from '../queries/oidc-models.ts';
import { withheldBy, type Sharing } from './data-sharing.ts';
import { servicesFor } from './service-access.ts';
import type { ActorOrigin } from '../audit/audit-log.ts';

export interface ConsentChoice {
  profile: boolean;
  email: boolean;
  activity: boolean;
}

/** A grant's OpenID part, and what the person refused (the provider's Grant payload). */
type OpenIdPart = { scope?: string; claims?: string[] };
type GrantWithRefusals = StoredGrant['payload'] & { rejected?: { openid?: OpenIdPart } };

const words = (scope: string | undefined) => (scope ?? '').split(' ').filter(Boolean);

/**
 * A grant under a person's choice: what they turned off leaves its scope and claims and is
 * recorded as refused, so the provider neither issues it nor asks again at the next sign-in; what
 * they turned back on is no longer refused, so the next sign-in asks for it (first-party services
 * get it at once, others show their consent page) and the service receives it from then on.
 */
function underChoice(grant: StoredGrant, sharing: Sharing): GrantWithRefusals {
  const payload = grant.payload as GrantWithRefusals;
  const off = withheldBy(sharing);
  // The inverse choice withholds exactly what this one shares.
  const on = withheldBy({ profile: !sharing.profile, email: !sharing.email });
  const openid = payload.openid ?? {};
  const refused = payload.rejected?.openid ?? {};
  const refusedScopes = [...new Set([...words(refused.scope).filter((s) => !on.scopes.includes(s)), ...off.scopes])];
  const refusedClaims = [...new Set([...(refused.claims ?? []).filter((c) => !on.claims.includes(c)), ...off.claims])];
  const { rejected: before, ...rest } = payload;
  const { openid: _, ...otherRefusals } = before ?? {};
  const rejected = { ...otherRefusals, ...(refusedScopes.length || refusedClaims.length ? { openid: { scope: refusedScopes.join(' '), claims: refusedClaims } } : {}) };
  return {
    ...rest,
    openid: { ...openid, scope: words(openid.scope).filter((s) => !off.scopes.includes(s)).join(' '), claims: (openid.claims ?? []).filter((c) => !off.claims.includes(c)) },
    ...(Object.keys(rejected).length ? { rejected } : {}),
  };
}

async function serviceOf(db: Knex, userId: string, slug: string) {
  const service = (await servicesFor(db, userId)).find((s) => s.slug === slug);
  if (!service) throw notFound('You do not use that service.');
  return service;
}

/**
 * What a service may receive: turning profile or email off takes them out of its grants at once
 * (refreshed tokens and userinfo stop carrying them) and keeps them out of every later sign-in
 * (src/web/sign-in/interactions.ts grantRequested, src/oidc/account.ts); turning one back on lets the
 * next sign-in grant it. The choice is announced to the service.
 */
export async function setConsent(db: Knex, userId: string, slug: string, choice: ConsentChoice, origin: ActorOrigin = {}): Promise<void> {
  const service = await serviceOf(db, userId, slug);
  await db.transaction(async (trx) => {
    await consentQueries.save(trx, { user_id: userId, service_id: service.id, share_profile: choice.profile, share_email: choice.email, share_activity: choice.activity });
    for (const grant of (await grantQueries.forUser(trx, userId)).filter((g) => service.grantIds.includes(g.id))) {
      const chosen = underChoice(grant, choice);
      if (JSON.stringify(chosen) !== JSON.stringify(grant.payload)) await grantQueries.setScope(trx, grant.id, chosen);
    }
    const data = { service: service.slug, profile: choice.profile, email: choice.email, activity: choice.activity, connected: service.connected };
    await appendEvent(trx, { type: 'consent.changed', userId, service: service.slug, data });
    await appendAudit(trx, { action: 'consent.changed', actorId: origin.actorId ?? userId, subjectId: userId, ip: origin.ip, userAgent: origin.userAgent, data });
  });
}

/** Ends a service's connection: its grants, and every access and refresh token under them. */
export async function disconnectService(db: Knex, userId: string, slug: string, origin: ActorOrigin = {}): Promise<void> {
  const service = await serviceOf(db, userId, slug);
  await db.transaction(async (trx) => {
    await grantQueries.revoke(trx, service.grantIds);
    const data = { service: service.slug, connected: false, profile: service.consent.profile, email: service.consent.email, activity: service.consent.activity };
    await appendEvent(trx, { type: 'consent.changed', userId, service: service.slug, data });
    await appendAudit(trx, { action: 'consent.revoked', actorId: origin.actorId ?? userId, subjectId: userId, ip: origin.ip, userAgent: origin.userAgent, data: { service: service.slug } });
  });
}
