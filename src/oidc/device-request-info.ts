import type { KoaContextWithOIDC } from 'oidc-provider';
import { errors } from 'oidc-provider';
import { deviceKinds } from '../devices/device-apps.ts';

/**
 * What a device says about itself when it starts the device grant (`POST /device/auth` with
 * `device_name` and `device_kind`), so the person confirming on their phone sees which device
 * asks. Both are optional; a bad one is a 400 (invalid_request), never shown as sent.
 */
export const deviceRequestParams = {
  device_name(_ctx: KoaContextWithOIDC, value: string | undefined) {
    if (value === undefined) return;
    if (value.trim().length === 0 || value.length > 80 || [...value].some((c) => c < ' ' || c === '\u007f')) {
      throw new errors.InvalidRequest('device_name is the device\'s name as a person knows it, 1 to 80 characters.');
    }
  },
  device_kind(_ctx: KoaContextWithOIDC, value: string | undefined) {
    if (value === undefined) return;
    if (!(deviceKinds as readonly string[]).includes(value)) throw new errors.InvalidRequest(`device_kind is one of ${deviceKinds.join(', ')}.`);
  },
};

/** Kept with the device code and handed to the confirm page (the provider's deviceInfo). */
export function deviceRequestInfo(ctx: KoaContextWithOIDC): Record<string, unknown> {
  const params = (ctx.oidc.params ?? {}) as Record<string, unknown>;
  return {
    ip: ctx.ip,
    ua: ctx.get('user-agent'),
    ...(typeof params.device_name === 'string' ? { name: params.device_name.trim() } : {}),
    ...(typeof params.device_kind === 'string' ? { kind: params.device_kind } : {}),
  };
}
