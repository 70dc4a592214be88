import https from 'node:https';
import { rootCertificates } from 'node:tls';
import type { PushKind } from '../queries/push-subscriptions.ts';
import type { publicOnlyLookup } from '../platform/public-address.ts';

/** What a push says: small, in the person's language; the app or service worker shows it and opens `url` when tapped. */
export interface PushMessage {
  type: string;
  title: string;
  body: string;
  url: string;
}

/** Where it goes: a Web Push endpoint with its keys, or an APNs / FCM device token (in `endpoint`). */
export interface PushTarget {
  endpoint: string;
  p256dh: string | null;
  auth: string | null;
}

/**
 * What came of one attempt. `gone`: the push service says this subscription or token is no
 * longer valid (404/410, APNs "Unregistered", FCM UNREGISTERED): the hub drops it and never retries.
 * Anything else that is not `sent` is tried again later.
 */
export type PushOutcome = { result: 'sent'; status: number } | { result: 'gone'; status: number | null; error: string } | { result: 'failed'; status: number | null; error: string };

/** One way of pushing: Web Push (RFC 8030/8291/8292), APNs (HTTP/2, token auth) or FCM (HTTP v1). */
export interface PushSender {
  readonly kind: PushKind;
  send(target: PushTarget, message: PushMessage, signal: AbortSignal): Promise<PushOutcome>;
  close?(): void;
}

/** The system's CAs plus PUSH_CA's, or undefined (Node's own default) when PUSH_CA is unset. */
export const trustedCas = (extra: string | null): string[] | undefined => (extra ? [...rootCertificates, extra] : undefined);

export interface HttpsAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTPS request (node:https, so PUSH_CA can be trusted), its answer read whole (bounded at 64 KiB). */
export function httpsRequest(
  url: string,
  init: { method: string; headers: Record<string, string | number>; body?: Buffer | string; ca?: string[]; signal: AbortSignal; lookup?: typeof publicOnlyLookup },
): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    if (target.protocol !== 'https:') {
      reject(new Error(`refusing to push over ${target.protocol}: only https:// push services are used`));
      return;
    }
    const request = https.request(target, { method: init.method, headers: init.headers, ...(init.ca ? { ca: init.ca } : {}), ...(init.lookup ? { lookup: init.lookup } : {}), signal: init.signal }, (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= 64 * 1024) chunks.push(chunk);
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(init.body);
  });
}

/** The reason in an error, for the delivery's last_error: the cause's message when fetch-like wrappers hide it. */
export const reasonOf = (error: unknown, signal: AbortSignal): string =>
  signal.aborted ? ((signal.reason as Error | undefined)?.message ?? 'aborted') : (((error as Error).cause as Error | undefined)?.message ?? (error as Error).message ?? String(error));
