import { isIP } from 'node:net';
import webpush from 'web-push';
import { isPublicAddress, publicOnlyLookup } from '../platform/public-address.ts';
import { httpsRequest, reasonOf, type PushMessage, type PushOutcome, type PushSender, type PushTarget } from './push-sender.ts';

export interface WebPushOptions {
  vapid: { publicKey: string; privateKey: string; subject: string };
  /** Extra CAs to trust (PUSH_CA). */
  ca?: string[];
  /** PUSH_PRIVATE_ENDPOINTS: push services on private addresses are allowed (your own, inside your network). */
  allowPrivateEndpoints?: boolean;
  /** How long a push service keeps a message for a browser that is offline (the TTL header), in seconds. */
  ttlSeconds?: number;
}

/**
 * Web Push: the payload encrypted for the subscription's keys (RFC 8291, aes128gcm) and signed
 * for with the hub's VAPID key (RFC 8292), both by the `web-push` library, then POSTed to the
 * push service (RFC 8030) by us, so PUSH_CA and the worker's deadline apply.
 */
export function webPushSender(options: WebPushOptions): PushSender {
  const ttl = options.ttlSeconds ?? 24 * 3600;
  return {
    kind: 'webpush',
    async send(target: PushTarget, message: PushMessage, signal: AbortSignal): Promise<PushOutcome> {
      if (!target.p256dh || !target.auth) return { result: 'failed', status: null, error: 'the subscription has no keys' };
      let details;
      try {
        details = webpush.generateRequestDetails({ endpoint: target.endpoint, keys: { p256dh: target.p256dh, auth: target.auth } }, JSON.stringify(message), {
          vapidDetails: options.vapid,
          TTL: ttl,
          contentEncoding: 'aes128gcm',
          urgency: 'normal',
        });
      } catch (error) {
        return { result: 'failed', status: null, error: `cannot encrypt for this subscription: ${(error as Error).message}` };
      }
      try {
        // The endpoint is whatever the person's browser sent: it may reach only the public internet unless the operator says otherwise.
        // (An address written as such is never looked up: it is checked here, and never changes, so its subscription goes.)
        const lookup = options.allowPrivateEndpoints ? undefined : publicOnlyLookup;
        const host = new URL(details.endpoint).hostname.replace(/^\[|\]$/g, '');
        if (lookup && isIP(host) && !isPublicAddress(host)) return { result: 'gone', status: null, error: 'the endpoint is not a public address (PUSH_PRIVATE_ENDPOINTS is off)' };
        const answer = await httpsRequest(details.endpoint, { method: details.method, headers: details.headers as Record<string, string | number>, body: details.body ?? undefined, ...(options.ca ? { ca: options.ca } : {}), ...(lookup ? { lookup } : {}), signal });
        if (answer.status >= 200 && answer.status < 300) return { result: 'sent', status: answer.status };
        if (answer.status === 404 || answer.status === 410) return { result: 'gone', status: answer.status, error: `push service answered ${answer.status}` };
        return { result: 'failed', status: answer.status, error: `push service answered ${answer.status}${answer.body ? `: ${answer.body.slice(0, 200)}` : ''}` };
      } catch (error) {
        return { result: 'failed', status: null, error: reasonOf(error, signal) };
      }
    },
  };
}
