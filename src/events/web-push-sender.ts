import webpush from 'web-push';
import { httpsRequest, reasonOf, type PushMessage, type PushOutcome, type PushSender, type PushTarget } from './push-sender.ts';

export interface WebPushOptions {
  vapid: { publicKey: string; privateKey: string; subject: string };
  /** Extra CAs to trust (PUSH_CA). */
  ca?: string[];
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
        const answer = await httpsRequest(details.endpoint, { method: details.method, headers: details.headers as Record<string, string | number>, body: details.body ?? undefined, ...(options.ca ? { ca: options.ca } : {}), signal });
        if (answer.status >= 200 && answer.status < 300) return { result: 'sent', status: answer.status };
        if (answer.status === 404 || answer.status === 410) return { result: 'gone', status: answer.status, error: `push service answered ${answer.status}` };
        return { result: 'failed', status: answer.status, error: `push service answered ${answer.status}${answer.body ? `: ${answer.body.slice(0, 200)}` : ''}` };
      } catch (error) {
        return { result: 'failed', status: null, error: reasonOf(error, signal) };
      }
    },
  };
}
