import type { Knex } from 'knex';
import { grantReference } from '../platform/crypto/grant-reference.ts';

/**
 * What a live stream's credential still is, read from the database itself (not an instance's
 * cache, which another instance's change reaches only a moment later).
 */
export const liveAccessQueries = {
  /** The portal session's expiry (Date, or null when it has none), or undefined when it or its enabled account is gone. */
  async sessionExpiry(db: Knex, sessionId: string, userId: string): Promise<Date | null | undefined> {
    const row = await db('oidc_models as m')
      .joinRaw('join users as u on u.id::text = m.account_id')
      .where({ 'm.model': 'Session', 'm.id': sessionId, 'm.account_id': userId })
      .whereNull('u.disabled_at')
      .first<{ expires_at: Date | null } | undefined>('m.expires_at');
    return row ? row.expires_at : undefined;
  },

  /** Whether the account, enabled, still holds a grant for this client whose reference is `ref`. */
  async grantHeld(db: Knex, userId: string, clientId: string, ref: string): Promise<boolean> {
    const grants = await db('oidc_models as m')
      .joinRaw('join users as u on u.id::text = m.account_id')
      .where({ 'm.model': 'Grant', 'm.account_id': userId })
      .whereRaw("m.payload->>'clientId' = ?", [clientId])
      .whereNull('u.disabled_at')
      .andWhere((q) => q.whereNull('m.expires_at').orWhere('m.expires_at', '>', new Date()))
      .select<Array<{ id: string }>>('m.id');
    return grants.some((g) => grantReference(g.id) === ref);
  },
};
