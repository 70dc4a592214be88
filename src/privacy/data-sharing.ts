import type { Knex } from 'knex';
import { consentQueries } from '../queries/service-consents.ts';

/**
 * What a person lets a service receive, as OpenID scopes and claims. A person turns "profile" or
 * "email" off per service on the privacy page (service_consents); the hub then leaves those
 * scopes out of every grant for the service's clients and their claims out of every ID token and
 * userinfo answer, until they turn them back on.
 */

export interface Sharing {
  profile: boolean;
  email: boolean;
}

/** The scopes a person can withhold, and the claims each would release. */
export const claimsOfScope: Readonly<Record<'profile' | 'email', readonly string[]>> = {
  profile: ['name', 'updated_at', 'locale'],
  email: ['email', 'email_verified'],
};

/** Everything is shared until the person says otherwise (no row in service_consents). */
export const sharesEverything: Sharing = { profile: true, email: true };

export interface Withheld {
  scopes: string[];
  claims: string[];
}

/** The scopes and claims a choice keeps from the service. */
export function withheldBy(sharing: Sharing): Withheld {
  const scopes = (['profile', 'email'] as const).filter((scope) => !sharing[scope]);
  return { scopes, claims: scopes.flatMap((scope) => claimsOfScope[scope]) };
}

/** A person's claims less what they keep from the service asking. */
export function sharedClaims<T extends Record<string, unknown>>(claims: T, sharing: Sharing): Partial<T> {
  const { claims: withheld } = withheldBy(sharing);
  if (!withheld.length) return claims;
  return Object.fromEntries(Object.entries(claims).filter(([name]) => !withheld.includes(name))) as Partial<T>;
}

/** What a person keeps from the service a client belongs to (src/web/sign-in/interactions.ts, when it grants). */
export async function withheldFor(db: Knex, userId: string, clientId: string): Promise<Withheld> {
  const consent = await consentQueries.forClient(db, userId, clientId);
  return withheldBy(consent ? { profile: consent.share_profile, email: consent.share_email } : sharesEverything);
}
