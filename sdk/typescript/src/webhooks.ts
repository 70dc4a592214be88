import { createHmac, timingSafeEqual } from 'node:crypto';

/** An event as the hub sends it everywhere: webhook body, stream data, activity (docs/events.md). */
export interface HubEvent<Data = Record<string, unknown>> {
  id: string;
  type: string;
  occurred_at: string;
  user_id?: string;
  service?: string;
  data: Data;
}

/** The delivery is not from the hub with this secret, or it is too old or too new to accept. */
export class WebhookVerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookVerificationError';
  }
}

export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

export interface VerifyWebhookOptions {
  /** How far webhook-timestamp may be from now, in seconds (default 300: Standard Webhooks' five minutes). */
  toleranceSeconds?: number;
  /** Now, in milliseconds (tests). */
  now?: number;
}

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const value = headers[name] ?? Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1];
  return Array.isArray(value) ? value.join(' ') : value;
}

/**
 * Verifies a Standard Webhooks delivery (standardwebhooks.com) and returns the event it carries.
 * `body` must be the raw body as received, before any JSON parsing. The signature is an
 * HMAC-SHA256 of `${webhook-id}.${webhook-timestamp}.${body}` under the base64 key after "whsec_";
 * webhook-signature may list several (space-separated "v1,<base64>", during a secret rotation)
 * and one good v1 is enough. Throws WebhookVerificationError otherwise.
 */
export function verifyWebhook<Data = Record<string, unknown>>(headers: WebhookHeaders, body: string | Uint8Array, secret: string, options: VerifyWebhookOptions = {}): HubEvent<Data> {
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !timestamp || !signatures) throw new WebhookVerificationError('The delivery lacks a webhook-id, webhook-timestamp or webhook-signature header.');
  if (!/^\d+$/.test(timestamp)) throw new WebhookVerificationError('webhook-timestamp is not a number of seconds.');
  const tolerance = options.toleranceSeconds ?? 300;
  const now = Math.floor((options.now ?? Date.now()) / 1000);
  if (Math.abs(now - Number(timestamp)) > tolerance) throw new WebhookVerificationError('webhook-timestamp is too far from now: a replayed or delayed delivery.');

  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
  const raw = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body);
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(raw).digest();
  const matches = signatures.split(' ').some((entry) => {
    const comma = entry.indexOf(',');
    if (comma < 0 || entry.slice(0, comma) !== 'v1') return false;
    const given = Buffer.from(entry.slice(comma + 1), 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  if (!matches) throw new WebhookVerificationError('No webhook-signature matches: wrong secret, or the body was changed.');

  let event: HubEvent<Data>;
  try {
    event = JSON.parse(raw.toString('utf8')) as HubEvent<Data>;
  } catch {
    throw new WebhookVerificationError('The body is not JSON.');
  }
  if (event.id !== id) throw new WebhookVerificationError('The body is another event than webhook-id names.');
  return event;
}
