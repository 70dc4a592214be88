import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { DeviceSightings } from '../devices/device-sightings.ts';
import type { Logger } from '../platform/logger.ts';
import { grantReference } from '../platform/crypto/grant-reference.ts';

/**
 * A refresh is its device's token use too: the device registered with that grant is seen now
 * (at most one write a minute, see DeviceSightings). After the answer, so a refresh never waits on it.
 */
export function recordDeviceRefreshes(provider: Provider, sightings: DeviceSightings, logger: Logger): void {
  provider.on('grant.success', (ctx: KoaContextWithOIDC) => {
    if (ctx.oidc.params?.grant_type !== 'refresh_token') return;
    const token = ctx.oidc.entities.RefreshToken;
    if (!token?.grantId || !token.accountId) return;
    sightings.seen(token.accountId, grantReference(token.grantId)).catch((error: unknown) => logger.warn({ err: error }, 'could not record when a device was last seen'));
  });
}
