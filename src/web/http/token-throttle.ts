import type http from 'node:http';
import type { ServiceRateLimits } from '../../catalog/service-rate-limits.ts';
import { rateLimitHeaders, type Limits } from '../../platform/rate-limits.ts';
import { basicCredentials } from './basic-credentials.ts';

/** As node-oidc-provider's own body limit: a bigger body is refused by it anyway. */
const maxBody = 56 * 1024;

async function readBody(req: http.IncomingMessage): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req.iterator({ destroyOnReturn: false })) {
    size += (chunk as Buffer).length;
    if (size > maxBody) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, size);
}

/**
 * /token per client (the client's service's `token_rate_limit`, else the default), checked once
 * in the provider lane before the provider sees the request: true when it may go on; false when
 * this answered it (429, or 400 for a body too big to read). Every answer carries RateLimit-Policy
 * and RateLimit. A form body without Basic authentication is read here to find its client_id and
 * handed to the provider as `req.body` (which it reads when the stream is already consumed).
 */
export function tokenThrottle(limits: Limits, rates: ServiceRateLimits) {
  return async function throttleToken(req: http.IncomingMessage, res: http.ServerResponse): Promise<boolean> {
    // The client id a token request names: HTTP Basic's user, else the body's client_id.
    let clientId = basicCredentials(req.headers.authorization)?.id ?? null;
    if (clientId === null && (req.headers['content-type'] ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded')) {
      const body = await readBody(req);
      if (!body) {
        res.writeHead(400, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
        res.end(JSON.stringify({ error: 'invalid_request', error_description: 'failed to parse the request body' }));
        return false;
      }
      Object.defineProperty(req, 'body', { value: body, configurable: true, writable: true });
      const named = new URLSearchParams(body.toString('utf8')).getAll('client_id');
      clientId = named.length === 1 ? named[0]! : null;
    }
    // No client named: the provider refuses it (invalid_client) at no cost worth limiting here.
    if (clientId === null) return true;
    const result = await limits.throttle('token', clientId, (await rates.ofClient(clientId)).token);
    for (const [name, value] of rateLimitHeaders('token', result)) res.setHeader(name, value);
    if (result.allowed) return true;
    res.writeHead(429, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    res.end(JSON.stringify({ error: 'rate_limited', error_description: `Too many token requests for this client: at most ${result.limit} a minute. Try again in ${Math.max(1, result.reset)} s.` }));
    return false;
  };
}
