import type { Context, Next } from 'koa';
import type { Knex } from 'knex';
import type Provider from 'oidc-provider';
import type { Logger } from '../../platform/logger.ts';
import type { ProviderHolder } from '../../oidc/provider-holder.ts';
import type { SignedInAccount } from './account-session.ts';
import { sightingQueries } from '../../queries/session-sightings.ts';
import { holdSighting } from '../../oidc/held-writes.ts';
import { uuidPattern } from '../../identity/user-admin.ts';

/** The portal notes the device and address of the session it serves (the provider keeps neither). */
export function recordPortalSighting(db: Knex, logger: Logger) {
  return async function noteSession(ctx: Context, next: Next) {
    const account = ctx.state.account as SignedInAccount | undefined;
    if (account) {
      await sightingQueries
        .record(db, { uid: account.sessionUid, userId: account.user.id, userAgent: ctx.get('user-agent').slice(0, 512) || null, ip: ctx.ip || null })
        .catch((error: unknown) => logger.warn({ err: error }, 'session sighting not recorded'));
    }
    await next();
  };
}

/**
 * Every successful authorization (a service's sign-in, the portal's, a device's) notes its
 * session too, on each provider the holder builds, so sessions that never visit the portal are
 * named on the sessions page. The provider saves the session as it answers, and the sighting goes
 * in that save's statement (held-writes.ts); written alone when the request saves no session.
 */
export function recordAuthorizationSightings(holder: ProviderHolder, db: Knex, logger: Logger): void {
  const listen = (provider: Provider) =>
    provider.on('authorization.success', (ctx) => {
      const session = ctx.oidc?.session;
      if (!session?.accountId) return;
      const sighting = { uid: session.uid, userId: session.accountId, userAgent: ctx.get('user-agent').slice(0, 512) || null, ip: ctx.ip || null };
      const alone = () => void sightingQueries.record(db, sighting).catch((error: unknown) => logger.warn({ err: error }, 'session sighting not recorded'));
      if (uuidPattern.test(sighting.userId)) holdSighting(ctx, sighting, alone);
      else alone();
    });
  listen(holder.current);
  holder.onSwap(listen);
}
