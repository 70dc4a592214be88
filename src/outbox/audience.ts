import type { Knex } from 'knex';
import type { RecordedAudience } from '../queries/outbox.ts';
import { consentQueries } from '../queries/service-consents.ts';
import { entitlementQueries } from '../queries/entitlements.ts';
import { grantQueries } from '../queries/oidc-models.ts';

/** For each person, the services they hold an entitlement or a live OIDC grant with. */
export async function relatedServices(trx: Knex, userIds: string[]): Promise<Map<string, Set<string>>> {
  const related = new Map<string, Set<string>>();
  if (!userIds.length) return related;
  const entitled = await entitlementQueries.servicesOf(trx, userIds);
  const granted = await grantQueries.servicesOf(trx, userIds);
  for (const { user_id: userId, service_id: serviceId } of [...entitled, ...granted]) {
    let set = related.get(userId);
    if (!set) related.set(userId, (set = new Set()));
    set.add(serviceId);
  }
  return related;
}

/**
 * The audience of an event about a person, to record with it while it can still be read: every
 * service the person holds an entitlement or a live grant with, and their privacy choice for each.
 * Call in the transaction that is about to take those away (deleteUser), before it does.
 */
export async function audienceOf(trx: Knex, userId: string): Promise<RecordedAudience> {
  const related = (await relatedServices(trx, [userId])).get(userId) ?? new Set<string>();
  const choices = (await consentQueries.forUsers(trx, [userId])).get(userId);
  return [...related].sort().map((serviceId) => {
    const choice = choices?.get(serviceId);
    return { service_id: serviceId, share_profile: choice?.share_profile ?? true, share_email: choice?.share_email ?? true, share_activity: choice?.share_activity ?? true };
  });
}
