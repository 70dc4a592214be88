import type { Knex } from 'knex';
import { servicesOfClients } from '../catalog/client-services.ts';
import { consentQueries } from '../queries/service-consents.ts';
import { grantQueries } from '../queries/oidc-models.ts';
import { serviceQueries } from '../queries/services.ts';

export interface ServiceAccess {
  id: string;
  slug: string;
  name: string;
  url: string | null;
  firstParty: boolean;
  /** active, suspended, or expired (the person's tier ran out). */
  status: 'active' | 'suspended' | 'expired';
  /** up, down or unknown: what the hub's checks of its health URL last saw. */
  health: string;
  tier: string | null;
  expiresAt: Date | null;
  /** What the service may see about the person, in words. */
  sees: string[];
  /** The person signed in to it and it still holds a grant. */
  connected: boolean;
  consent: { profile: boolean; email: boolean; activity: boolean };
  grantIds: string[];
  /** A letter and a colour class for the service's tile. */
  mark: { letter: string; tone: string };
}

/** "VEZEPyGame" → "G": the last capitalised word says more than the family prefix. */
export function serviceMark(slug: string, name: string): { letter: string; tone: string } {
  const word = /[A-Z][a-z]+$/.exec(name)?.[0] ?? name;
  let hash = 0;
  for (const c of slug) hash = (hash * 31 + c.charCodeAt(0)) >>> 0;
  return { letter: (word[0] ?? '?').toUpperCase(), tone: `mark-${hash % 6}` };
}

const scopeWords: Record<string, string> = {
  openid: 'That it is you (your account ID)',
  profile: 'Your name',
  email: 'Your email address',
  offline_access: 'Access while you are away',
};

/**
 * Every service a person can use (their entitlements, every first-party service, and any service
 * they signed in to), with the
 * tier, what it may see (from their grants, less what they turned off), and whether it is connected.
 */
export async function servicesFor(db: Knex, userId: string): Promise<ServiceAccess[]> {
  const grants = await grantQueries.forUser(db, userId);
  const clients = await servicesOfClients(db, grants.map((g) => g.payload.clientId));
  const connected = [...new Set([...clients.values()].map((c) => c.slug).filter((slug): slug is string => slug !== null))];
  const rows = await serviceQueries.forPerson(db, userId, connected);
  const consents = await consentQueries.forUser(db, userId);
  const now = Date.now();
  return rows.map((row) => {
    const own = grants.filter((g) => clients.get(g.payload.clientId)?.slug === row.slug);
    const consent = consents.get(row.id);
    const scopes = new Set(own.flatMap((g) => (g.payload.openid?.scope ?? '').split(' ').filter(Boolean)));
    if (consent && !consent.share_profile) scopes.delete('profile');
    if (consent && !consent.share_email) scopes.delete('email');
    const sees = [...scopes].map((s) => scopeWords[s] ?? `The "${s}" permission`);
    if (own.some((g) => Object.keys(g.payload.resources ?? {}).length)) sees.push(`Act for you at ${row.name}`);
    const expired = row.expires_at !== null && new Date(row.expires_at).getTime() <= now;
    return {
      id: row.id,
      slug: row.slug,
      name: row.name,
      url: row.url,
      firstParty: row.first_party,
      status: row.status !== 'active' ? 'suspended' : expired ? 'expired' : 'active',
      health: row.health,
      tier: row.tier ?? row.default_tier,
      expiresAt: row.expires_at,
      sees,
      connected: own.length > 0,
      consent: { profile: consent?.share_profile ?? true, email: consent?.share_email ?? true, activity: consent?.share_activity ?? true },
      grantIds: own.map((g) => g.id),
      mark: serviceMark(row.slug, row.name),
    };
  });
}
