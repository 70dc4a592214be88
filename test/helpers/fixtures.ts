import { randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';
import * as oidc from 'openid-client';
import type { Hub } from '../../src/app/start.ts';
import { createClient, type NewClient } from '../../src/catalog/clients.ts';
import { createService } from '../../src/catalog/services.ts';
import { grantEntitlement } from '../../src/catalog/entitlements.ts';
import { createUser } from '../../src/identity/users.ts';

export const callbackUrl = 'http://127.0.0.1:9/callback';

export interface Person {
  id: string;
  email: string;
  password: string;
  name: string;
}

export async function makePerson(hub: Hub, overrides: Partial<Omit<Person, 'id'>> & { admin?: boolean } = {}): Promise<Person> {
  const email = overrides.email ?? `person-${randomBytes(4).toString('hex')}@example.test`;
  const password = overrides.password ?? 'correct horse battery staple';
  const name = overrides.name ?? 'Ada Lovelace';
  const user = await createUser(hub.db, hub.hasher, { email, password, name, admin: overrides.admin ?? false, emailVerified: true });
  return { id: user.id, email, password, name };
}

export async function makeService(hub: Hub, slug = `svc-${randomBytes(3).toString('hex')}`, options: { firstParty?: boolean; defaultTier?: string } = {}) {
  return createService(hub.db, { slug, name: slug.toUpperCase(), firstParty: options.firstParty ?? false, defaultTier: options.defaultTier });
}

/** The same validation the hub applies at runtime: the provider's own client schema. */
export async function validateClientMetadata(hub: Hub, metadata: Record<string, unknown>): Promise<void> {
  await (hub.holder.current.Client as unknown as { validate(m: unknown): Promise<void> }).validate(metadata);
}

export async function makeClient(hub: Hub, input: Partial<NewClient> & { service: string }) {
  return createClient(hub.db, hub.secrets.clients, (m) => validateClientMetadata(hub, m), {
    type: 'web',
    redirectUris: [callbackUrl],
    postLogoutRedirectUris: ['http://127.0.0.1:9/signed-out'],
    ...input,
  });
}

export const grant = (hub: Hub, email: string, service: string, tier: string, expires?: string) =>
  grantEntitlement(hub.db, { email, service, tier, ...(expires ? { expires } : {}) });

/** An openid-client Configuration for a registered client, over plain http (tests only). */
export async function relyingParty(hub: Hub, client: { client_id: string; client_secret?: string }, options: { dpop?: boolean } = {}) {
  const auth = client.client_secret ? oidc.ClientSecretBasic(client.client_secret) : oidc.None();
  void options;
  return oidc.discovery(new URL(hub.url), client.client_id, client.client_secret ? {} : { token_endpoint_auth_method: 'none' }, auth, {
    execute: [oidc.allowInsecureRequests],
  });
}

void Provider;
