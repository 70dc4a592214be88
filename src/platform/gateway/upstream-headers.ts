import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/** RFC 9110 section 7.6.1 and the proxy ones: they concern one hop, never forwarded either way. */
const hopByHop = new Set(['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'http2-settings']);

/** What the caller sent for the hub, not for the service: its credentials, the portal's CSRF token, and what a proxy in front of us wrote. */
const callersOwn = new Set(['cookie', 'authorization', 'dpop', 'x-csrf-token', 'host', 'forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-real-ip', 'x-request-id', 'expect']);

function connectionNamed(headers: IncomingHttpHeaders): Set<string> {
  const named = new Set<string>();
  const value = headers.connection;
  for (const part of (Array.isArray(value) ? value.join(',') : (value ?? '')).split(',')) if (part.trim()) named.add(part.trim().toLowerCase());
  return named;
}

const dropped = (name: string, named: Set<string>) => hopByHop.has(name) || name.startsWith('proxy-') || named.has(name);

/** An RFC 7239 node: an IPv6 address in brackets and quotes, a v4 one as it is. */
const node = (address: string) => (address.includes(':') ? `"[${address}]"` : address);
const quotedIfNeeded = (value: string) => (/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(value) ? value : `"${value.replace(/["\\]/g, '\\$&')}"`);

export interface ForwardedFor {
  /** The caller's address as the hub sees it (ctx.ip: a trusted proxy's X-Forwarded-For only with TRUST_PROXY). */
  ip: string;
  /** The host and protocol the caller reached the hub at. */
  host: string;
  proto: string;
  requestId: string;
}

/** The headers sent to the upstream: the caller's, less hop-by-hop ones and credentials, plus the exchanged token, Forwarded and X-Request-Id. */
export function upstreamRequestHeaders(incoming: IncomingHttpHeaders, token: string, upstreamHost: string, via: ForwardedFor): OutgoingHttpHeaders {
  const named = connectionNamed(incoming);
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || dropped(name, named) || callersOwn.has(name)) continue;
    out[name] = value;
  }
  out.host = upstreamHost;
  out.authorization = `Bearer ${token}`;
  out.forwarded = `for=${node(via.ip)};host=${quotedIfNeeded(via.host)};proto=${via.proto}`;
  out['x-request-id'] = via.requestId;
  return out;
}

/**
 * What an upstream may not say for the hub's origin: its cookies, who else may read the answer
 * (CORS), and what the answer may do in a browser (its own CSP: the gateway sets one).
 */
const originsOwn = (name: string) => name === 'set-cookie' || name === 'set-cookie2' || name.startsWith('access-control-') || name.startsWith('content-security-policy');

/** The upstream's answer headers the caller gets: less hop-by-hop ones, cookies, CORS and CSP (the answer comes from the hub's origin). */
export function callerResponseHeaders(incoming: IncomingHttpHeaders): Array<[string, string | string[]]> {
  const named = connectionNamed(incoming);
  const out: Array<[string, string | string[]]> = [];
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || dropped(name, named) || originsOwn(name)) continue;
    out.push([name, value]);
  }
  return out;
}
