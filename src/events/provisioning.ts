import type { Knex } from 'knex';
import { z } from 'zod';
import { grantEntitlement } from '../catalog/entitlements.ts';
import { entitlementQueries } from '../queries/entitlements.ts';
import { serviceQueries } from '../queries/services.ts';
import { userQueries } from '../queries/users.ts';
import type { EventConsumer } from './event-tasks.ts';
import type { HubEvent } from '../outbox/outbox.ts';

/** What a trusted service's payment.completed carries (checked when posted, and again here). */
export const paymentSchema = z.object({
  service: z.string().min(1),
  tier: z.string().min(1),
  expires_at: z.iso.datetime({ offset: true }).nullable().optional(),
});

/** A new person gets each service's default tier, unless they already hold something there (never a downgrade). */
async function provisionNewUser(trx: Knex, event: HubEvent): Promise<void> {
  const user = event.user_id ? await userQueries.byId(trx, event.user_id) : undefined;
  if (!user) return;
  for (const service of await serviceQueries.activeWithDefaultTier(trx)) {
    if (await entitlementQueries.find(trx, user.id, service.id)) continue;
    await grantEntitlement(trx, { email: user.email, service: service.slug, tier: service.default_tier! });
  }
}

/** A paid upgrade, only from a first-party (trusted) service. */
async function applyPayment(trx: Knex, event: HubEvent): Promise<void> {
  const payer = event.service ? await serviceQueries.bySlug(trx, event.service) : undefined;
  if (!payer?.first_party) return;
  const payment = paymentSchema.safeParse(event.data);
  const user = event.user_id ? await userQueries.byId(trx, event.user_id) : undefined;
  if (!payment.success || !user) return;
  const { service, tier, expires_at: expires } = payment.data;
  await grantEntitlement(trx, { email: user.email, service, tier, ...(expires ? { expires } : {}) });
}

/** Provisioning: `user.signup` → default tiers; `payment.completed` from a trusted service → the paid tier. */
export const provisioning: EventConsumer = {
  name: 'provisioning',
  types: ['user.signup', 'payment.completed'],
  async handle(trx, event) {
    if (event.type === 'user.signup') await provisionNewUser(trx, event);
    else if (event.type === 'payment.completed') await applyPayment(trx, event);
  },
};
