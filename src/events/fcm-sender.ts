import { importPKCS8, SignJWT } from 'jose';
import type { FcmConfig } from '../platform/config.ts';
import { httpsRequest, reasonOf, type PushMessage, type PushOutcome, type PushSender, type PushTarget } from './push-sender.ts';

const messagingScope = 'https://www.googleapis.com/auth/firebase.messaging';

interface FcmError {
  error?: { status?: string; message?: string; details?: Array<{ '@type'?: string; errorCode?: string }> };
}

/**
 * FCM HTTP v1: `POST /v1/projects/<project>/messages:send` with an OAuth 2.0 access token got
 * from the service account's own RS256 JWT at its token URI (the JWT bearer grant, RFC 7523),
 * kept until a minute before it ends. `404` or `UNREGISTERED` mean the token is gone.
 */
export function fcmSender(config: FcmConfig, options: { ca?: string[] } = {}): PushSender {
  const key = importPKCS8(config.privateKey, 'RS256');
  let access: { token: string; until: number } | null = null;
  const ca = options.ca ? { ca: options.ca } : {};

  async function accessToken(signal: AbortSignal): Promise<string> {
    if (access && Date.now() < access.until) return access.token;
    const now = Math.floor(Date.now() / 1000);
    const assertion = await new SignJWT({ scope: messagingScope })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
      .setIssuer(config.clientEmail)
      .setAudience(config.tokenUri)
      .setIssuedAt(now)
      .setExpirationTime(now + 3600)
      .sign(await key);
    const body = new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }).toString();
    const answer = await httpsRequest(config.tokenUri, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) }, body, ...ca, signal });
    if (answer.status !== 200) throw new Error(`FCM token URI answered ${answer.status}`);
    const granted = JSON.parse(answer.body) as { access_token?: string; expires_in?: number };
    if (!granted.access_token) throw new Error('FCM token URI gave no access_token');
    access = { token: granted.access_token, until: Date.now() + Math.max(0, (granted.expires_in ?? 3600) - 60) * 1000 };
    return access.token;
  }

  return {
    kind: 'fcm',
    async send(target: PushTarget, message: PushMessage, signal: AbortSignal): Promise<PushOutcome> {
      try {
        const body = JSON.stringify({
          message: {
            token: target.endpoint,
            notification: { title: message.title, body: message.body },
            data: { type: message.type, url: message.url },
            android: { priority: 'high' },
          },
        });
        const answer = await httpsRequest(`${config.url}/v1/projects/${encodeURIComponent(config.projectId)}/messages:send`, {
          method: 'POST',
          headers: { authorization: `Bearer ${await accessToken(signal)}`, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) },
          body,
          ...ca,
          signal,
        });
        if (answer.status === 200) return { result: 'sent', status: 200 };
        let detail: FcmError = {};
        try {
          detail = JSON.parse(answer.body) as FcmError;
        } catch {
          // Not JSON: the status says enough.
        }
        const code = detail.error?.details?.find((d) => d.errorCode)?.errorCode ?? detail.error?.status ?? '';
        if (answer.status === 401) access = null;
        if (answer.status === 404 || code === 'UNREGISTERED') return { result: 'gone', status: answer.status, error: `FCM answered ${answer.status} ${code}`.trim() };
        return { result: 'failed', status: answer.status, error: `FCM answered ${answer.status} ${code}`.trim() };
      } catch (error) {
        return { result: 'failed', status: null, error: reasonOf(error, signal) };
      }
    },
  };
}
