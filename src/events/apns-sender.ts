import http2 from 'node:http2';
import { importPKCS8, SignJWT } from 'jose';
import type { ApnsConfig } from '../platform/config.ts';
import { reasonOf, type PushMessage, type PushOutcome, type PushSender, type PushTarget } from './push-sender.ts';

/** Apple refuses a provider token older than an hour and one renewed more often than every 20 minutes. */
const tokenLifetimeMs = 40 * 60_000;

/**
 * APNs over HTTP/2 with token-based authentication: an ES256 provider token (header kid = the
 * key id, claims iss = the team id and iat) in `authorization: bearer`, reused for 40 minutes, on
 * one HTTP/2 connection kept open. `410 Unregistered` (and `400 BadDeviceToken`) mean the token
 * is gone.
 */
export function apnsSender(config: ApnsConfig, options: { ca?: string[] } = {}): PushSender {
  let session: http2.ClientHttp2Session | null = null;
  let token: { value: string; madeAt: number } | null = null;
  const key = importPKCS8(config.key, 'ES256');

  async function providerToken(): Promise<string> {
    if (token && Date.now() - token.madeAt < tokenLifetimeMs) return token.value;
    const now = Date.now();
    const value = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: config.keyId }).setIssuer(config.teamId).setIssuedAt(Math.floor(now / 1000)).sign(await key);
    token = { value, madeAt: now };
    return value;
  }

  function connection(): http2.ClientHttp2Session {
    if (session && !session.closed && !session.destroyed) return session;
    const opened = http2.connect(config.url, options.ca ? { ca: options.ca } : {});
    opened.on('error', () => undefined);
    opened.on('close', () => {
      if (session === opened) session = null;
    });
    opened.unref();
    session = opened;
    return opened;
  }

  return {
    kind: 'apns',
    async send(target: PushTarget, message: PushMessage, signal: AbortSignal): Promise<PushOutcome> {
      try {
        const body = JSON.stringify({ aps: { alert: { title: message.title, body: message.body }, sound: 'default' }, type: message.type, url: message.url });
        const headers = {
          ':method': 'POST',
          ':path': `/3/device/${encodeURIComponent(target.endpoint)}`,
          authorization: `bearer ${await providerToken()}`,
          'apns-topic': config.topic,
          'apns-push-type': 'alert',
          'apns-priority': '10',
          'apns-expiration': String(Math.floor(Date.now() / 1000) + 24 * 3600),
          'content-type': 'application/json',
        };
        const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
          const stream = connection().request(headers, { signal });
          let status = 0;
          let text = '';
          stream.setEncoding('utf8');
          stream.on('response', (h) => (status = Number(h[':status'])));
          stream.on('data', (chunk: string) => (text += chunk));
          stream.on('end', () => resolve({ status, text }));
          stream.on('error', reject);
          stream.end(body);
        });
        if (status === 200) return { result: 'sent', status };
        const reason = (() => {
          try {
            return String((JSON.parse(text) as { reason?: string }).reason ?? '');
          } catch {
            return '';
          }
        })();
        if (status === 403 && reason === 'ExpiredProviderToken') token = null;
        if (status === 410 || (status === 400 && reason === 'BadDeviceToken')) return { result: 'gone', status, error: `APNs answered ${status} ${reason}`.trim() };
        return { result: 'failed', status, error: `APNs answered ${status} ${reason}`.trim() };
      } catch (error) {
        return { result: 'failed', status: null, error: reasonOf(error, signal) };
      }
    },
    close() {
      session?.close();
      session = null;
    },
  };
}
