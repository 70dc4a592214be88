import type { Knex } from 'knex';
import { clientQueries } from '../queries/clients.ts';

const loopbackHosts = new Set(['127.0.0.1', '[::1]', 'localhost']);
const chromiumAppSuffix = '.chromiumapp.org';

/**
 * The browser origins a client runs at, read from its redirect URIs: the origin of each http(s)
 * redirect, and for a Chromium extension `chrome-extension://<id>` (from a `chrome-extension://<id>/`
 * redirect, or chrome.identity's `https://<id>.chromiumapp.org/`). A native app's loopback
 * redirect (RFC 8252 §7.3) is a listener of the app, not a page: it is no origin, and neither is
 * a private-use scheme.
 */
export function browserOrigins(redirectUris: readonly unknown[], applicationType: unknown): string[] {
  const origins = new Set<string>();
  for (const value of redirectUris) {
    if (typeof value !== 'string') continue;
    const url = URL.parse(value);
    if (!url) continue;
    if (url.protocol === 'chrome-extension:' && url.hostname) origins.add(`chrome-extension://${url.hostname}`);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') continue;
    if (applicationType === 'native' && url.protocol === 'http:' && loopbackHosts.has(url.hostname)) continue;
    origins.add(url.origin);
    if (url.protocol === 'https:' && url.hostname.endsWith(chromiumAppSuffix)) origins.add(`chrome-extension://${url.hostname.slice(0, -chromiumAppSuffix.length)}`);
  }
  return [...origins];
}

/** The origins of one client (none for an unknown one). */
export async function clientOrigins(db: Knex, clientId: string): Promise<string[]> {
  const row = await clientQueries.rowById(db, clientId);
  const metadata = row?.metadata as { redirect_uris?: unknown[]; application_type?: unknown } | undefined;
  return metadata ? browserOrigins(metadata.redirect_uris ?? [], metadata.application_type) : [];
}

/** Every origin some client runs at: a preflight (which carries no token) may go on only from one of these. */
export async function everyClientOrigin(db: Knex): Promise<Set<string>> {
  const origins = new Set<string>();
  for (const row of await clientQueries.allMetadata(db)) {
    const metadata = row.metadata as { redirect_uris?: unknown[]; application_type?: unknown };
    for (const origin of browserOrigins(metadata.redirect_uris ?? [], metadata.application_type)) origins.add(origin);
  }
  return origins;
}

/**
 * Where a service's links may point: its own site's origin, its clients' browser origins, and the
 * private-use schemes of its native apps (their deep links). A hand-off carries only such links.
 */
export async function serviceLinkTargets(db: Knex, serviceId: string, serviceUrl: string | null): Promise<{ origins: Set<string>; schemes: Set<string> }> {
  const origins = new Set<string>();
  const schemes = new Set<string>();
  const site = serviceUrl ? URL.parse(serviceUrl) : null;
  if (site && (site.protocol === 'https:' || site.protocol === 'http:')) origins.add(site.origin);
  for (const row of await clientQueries.forService(db, serviceId)) {
    const metadata = row.metadata as { redirect_uris?: unknown[]; application_type?: unknown };
    for (const origin of browserOrigins(metadata.redirect_uris ?? [], metadata.application_type)) origins.add(origin);
    for (const value of metadata.redirect_uris ?? []) {
      const url = typeof value === 'string' ? URL.parse(value) : null;
      if (url && !['http:', 'https:', 'chrome-extension:'].includes(url.protocol)) schemes.add(url.protocol);
    }
  }
  return { origins, schemes };
}
