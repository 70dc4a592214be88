import type { Knex } from 'knex';
import { z } from 'zod';
import { grantEntitlement, revokeEntitlement } from '../catalog/entitlements.ts';
import { eventActor } from '../audit/actors.ts';
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

/** What a trusted service's payment.refunded carries: the tier it paid for, which now ends. */
export const refundSchema = z.object({
  service: z.string().min(1),
  tier: z.string().min(1),
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

/**
 * A refund, only from a first-party (trusted) service: ends the tier it names, if the person still
 * holds that tier there (a refund of an old purchase leaves a tier changed since alone).
 */
async function applyRefund(trx: Knex, event: HubEvent): Promise<void> {
  const payer = event.service ? await serviceQueries.bySlug(trx, event.service) : undefined;
  if (!payer?.first_party) return;
  const refund = refundSchema.safeParse(event.data);
  const user = event.user_id ? await userQueries.byId(trx, event.user_id) : undefined;
  const service = refund.success ? await serviceQueries.bySlug(trx, refund.data.service) : undefined;
  if (!refund.success || !user || !service) return;
  const held = await entitlementQueries.find(trx, user.id, service.id);
  if (held?.tier !== refund.data.tier) return;
  await revokeEntitlement(trx, { email: user.email, service: service.slug }, eventActor(payer.slug, event.id));
}

/**
 * Provisioning: `user.signup` → default tiers; from a trusted service, `payment.completed` → the
 * paid tier and `payment.refunded` → that tier ends.
 */
export const provisioning: EventConsumer = {
  name: 'provisioning',
  types: ['user.signup', 'payment.completed', 'payment.refunded'],
  async handle(trx, event) {
    if (event.type === 'user.signup') await provisionNewUser(trx, event);
    else if (event.type === 'payment.completed') await applyPayment(trx, event);
    else if (event.type === 'payment.refunded') await applyRefund(trx, event);
  },
};
