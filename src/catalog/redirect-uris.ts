/**
 * What a redirect URI may be, by client type, beyond what the provider's own schema checks.
 *
 * - native (RFC 8252): a loopback IP literal over http (`http://127.0.0.1/…` or `http://[::1]/…`;
 *   any port is accepted at sign-in, §7.3; `localhost` is not, §8.3), a private-use scheme in
 *   reverse-DNS form (`com.example.app:/callback`, §7.1), or a claimed https URL (§7.2).
 * - extension: chrome.identity's `https://<id>.chromiumapp.org/…`, or `chrome-extension://<id>/…`,
 *   where <id> is a Chromium extension id (32 letters a–p).
 */
const extensionId = /^[a-p]{32}$/;
const reverseDns = /^[a-z][a-z0-9+-]*(\.[a-z0-9][a-z0-9+-]*)+$/;
const loopbackIps = new Set(['127.0.0.1', '[::1]']);

export function redirectUriProblem(type: string, value: string): string | null {
  const url = URL.parse(value);
  if (!url) return `${value} is not an absolute URI.`;
  if (url.hash) return `${value} has a fragment (#…): a redirect URI may not.`;
  if (type === 'native') {
    if (url.protocol === 'https:') return null;
    if (url.protocol === 'http:') {
      if (loopbackIps.has(url.hostname)) return null;
      if (url.hostname === 'localhost') return `${value}: use the loopback IP literal, http://127.0.0.1/… or http://[::1]/… (RFC 8252 §8.3), not localhost.`;
      return `${value}: a native app's http redirect must be the loopback interface, http://127.0.0.1/… or http://[::1]/… (any port at sign-in).`;
    }
    const scheme = url.protocol.slice(0, -1);
    if (!reverseDns.test(scheme)) return `${value}: a private-use scheme is a reverse domain name you control, such as com.example.app:/callback (RFC 8252 §7.1).`;
    return null;
  }
  if (type === 'extension') {
    if (url.protocol === 'https:' && url.hostname.endsWith('.chromiumapp.org') && extensionId.test(url.hostname.slice(0, -'.chromiumapp.org'.length)) && !url.port) return null;
    if (url.protocol === 'chrome-extension:' && extensionId.test(url.hostname)) return null;
    return `${value}: an extension's redirect is https://<extension id>.chromiumapp.org/… (chrome.identity) or chrome-extension://<extension id>/…, with the 32-letter id.`;
  }
  return null;
}
