import Provider from 'oidc-provider';
import { AppError } from '../platform/errors.ts';
import type { Limits } from '../platform/rate-limits.ts';

/**
 * Device codes are short, so entering them is a credential path too. The limit sits where the
 * provider looks a typed code up, not in front of a path: its router also takes /Device and
 * /device/, and any spelling it accepts reaches this look-up. Each look-up reserves an attempt
 * on the IP's counter first; a code that is unknown, expired or spent counts as a failure.
 */
export function limitUserCodeLookups(provider: Provider, limits: Limits): void {
  const DeviceCode = provider.DeviceCode;
  const find = DeviceCode.findByUserCode.bind(DeviceCode);
  DeviceCode.findByUserCode = async (userCode, options) => {
    // The request being served (the provider keeps it in AsyncLocalStorage); its ip follows TRUST_PROXY as the hub's does.
    const ip = Provider.ctx?.ip ?? 'unknown';
    const attempt = await limits.check('device_code', { ip });
    // Our device page shows an AppError's message with its status (429, or 503 when the limit store is down).
    if (!attempt.allowed) throw new AppError('rate_limited', 'Too many wrong codes from your network. Wait a few minutes, then try again.', { retryAfter: attempt.retryAfter });
    const code = await find(userCode, options);
    if (!code || code.isExpired || code.error || code.accountId || code.inFlight) await limits.fail(attempt);
    else await limits.succeed(attempt);
    return code;
  };
}
