import type { Knex } from 'knex';
import { z } from 'zod';
import { entryBy, type AuditActor } from '../audit/actors.ts';
import { appendAudit } from '../audit/audit-log.ts';
import type { SecretBox } from '../platform/crypto/secret-box.ts';
import { randomToken } from '../platform/crypto/tokens.ts';
import { AppError } from '../platform/errors.ts';
import { parseInput } from '../platform/validation.ts';
import { clientQueries, type ClientRow } from '../queries/clients.ts';
import { requireService } from './services.ts';
import { redirectUriProblem } from './redirect-uris.ts';

/** The portal's own client (first party, no service of its own): it is no row of the clients table. */
export const portalClientId = 'uniqverse-portal';
import type { ServiceRow } from '../queries/services.ts';

export const deviceCodeGrant = 'urn:ietf:params:oauth:grant-type:device_code';
/** RFC 8693: a web (confidential) client may exchange a person's token for one toward another service, where an administrator allowed that pair. */
export const tokenExchangeGrant = 'urn:ietf:params:oauth:grant-type:token-exchange';

const uri = z.string().trim().refine((value) => URL.canParse(value), 'must be an absolute URI');

const newClientSchema = z
  .object({
    service: z.string().min(1, 'Name a service.'),
    type: z.enum(['web', 'native', 'device', 'extension'], { message: 'Type must be web, native, device or extension.' }),
    redirectUris: z.array(uri).default([]),
    postLogoutRedirectUris: z.array(uri).default([]),
    name: z.string().trim().min(1).max(80).optional(),
  })
  .refine((c) => c.type === 'device' || c.redirectUris.length > 0, { message: 'Give at least one redirect URI.', path: ['redirectUris'] })
  .superRefine((c, ctx) => {
    for (const value of c.redirectUris) {
      const problem = redirectUriProblem(c.type, value);
      if (problem) ctx.addIssue({ code: 'custom', message: problem, path: ['redirectUris'] });
    }
  });

export type NewClient = z.input<typeof newClientSchema>;

/** Validates metadata the way the provider will load it (Client.validate), so a bad client is refused at creation. */
export type ClientMetadataValidator = (metadata: Record<string, unknown>) => Promise<void>;

export interface CreatedClient {
  client_id: string;
  client_secret?: string;
  service: string;
  type: string;
  redirect_uris: string[];
}

function metadataFor(type: NewClient['type'], service: ServiceRow, input: z.output<typeof newClientSchema>, name: string) {
  const common = { client_name: name, redirect_uris: input.redirectUris, post_logout_redirect_uris: input.postLogoutRedirectUris };
  switch (type) {
    case 'web':
      return {
        ...common,
        application_type: 'web',
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['authorization_code', 'refresh_token', 'client_credentials', tokenExchangeGrant],
        response_types: ['code'],
      };
    case 'native':
    case 'extension':
      return {
        ...common,
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      };
    case 'device':
      return {
        ...common,
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        grant_types: [deviceCodeGrant, 'refresh_token'],
        response_types: [],
        redirect_uris: [],
      };
  }
  void service;
}

/**
 * Registers a client of a service; a web client gets a secret, returned here once and stored
 * sealed. `registeredBy` audits it (client.registered, never the secret) in the same transaction.
 */
export async function createClient(db: Knex, box: SecretBox, validate: ClientMetadataValidator, input: NewClient, registeredBy?: AuditActor): Promise<CreatedClient> {
  const data = parseInput(newClientSchema, input);
  const service = await requireService(db, data.service);
  const clientId = `${service.slug}-${data.type}-${randomToken(6).toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, 6) || 'x'}`;
  const secret = data.type === 'web' ? randomToken(32) : undefined;
  const metadata = metadataFor(data.type, service, data, data.name ?? `${service.name} (${data.type})`);
  try {
    await validate({ ...metadata, client_id: clientId, ...(secret ? { client_secret: secret } : {}) });
  } catch (error) {
    const message = (error as { error_description?: string; message?: string }).error_description ?? (error as Error).message;
    throw new AppError('invalid_input', `Invalid client: ${message}`, { fields: { redirectUris: message } });
  }
  await db.transaction(async (trx) => {
    await clientQueries.insert(trx, {
      client_id: clientId,
      service_id: service.id,
      type: data.type,
      client_secret_sealed: secret ? box.seal(secret) : null,
      metadata,
    });
    if (registeredBy) {
      await appendAudit(trx, entryBy(registeredBy, { action: 'client.registered', data: { service: service.slug, client_id: clientId, type: data.type, redirect_uris: data.redirectUris } }));
    }
  });
  const created: CreatedClient = { client_id: clientId, service: service.slug, type: data.type, redirect_uris: data.redirectUris };
  if (secret) created.client_secret = secret;
  return created;
}

/**
 * Replaces a client's redirect URIs (and, when given, its post-logout ones). `updatedBy` audits it
 * (client.updated, the URIs before and after) in the change's own transaction, whichever console
 * or command does it: the entry exists if and only if the change does.
 */
export async function updateRedirectUris(
  db: Knex,
  validate: ClientMetadataValidator,
  clientId: string,
  redirectUris: string[],
  postLogoutRedirectUris: string[] | undefined,
  updatedBy: AuditActor,
): Promise<void> {
  const row: ClientRow | undefined = await clientQueries.rowById(db, clientId);
  if (!row) throw new AppError('not_found', `No client ${clientId}.`);
  const uris = parseInput(z.array(uri), redirectUris);
  const problem = uris.map((value) => redirectUriProblem(row.type, value)).find((p) => p !== null);
  if (problem) throw new AppError('invalid_input', `Invalid redirect URIs: ${problem}`, { fields: { redirectUris: problem } });
  const metadata = { ...row.metadata, redirect_uris: uris, ...(postLogoutRedirectUris ? { post_logout_redirect_uris: parseInput(z.array(uri), postLogoutRedirectUris) } : {}) };
  try {
    await validate({ ...metadata, client_id: clientId, ...(row.client_secret_sealed ? { client_secret: 'validation-only-secret-placeholder-value' } : {}) });
  } catch (error) {
    const message = (error as { error_description?: string }).error_description ?? (error as Error).message;
    throw new AppError('invalid_input', `Invalid redirect URIs: ${message}`, { fields: { redirectUris: message } });
  }
  await db.transaction(async (trx) => {
    await clientQueries.setMetadata(trx, clientId, metadata);
    await appendAudit(
      trx,
      entryBy(updatedBy, {
        action: 'client.updated',
        data: {
          client_id: clientId,
          redirect_uris: metadata.redirect_uris,
          post_logout_redirect_uris: metadata.post_logout_redirect_uris ?? [],
          previous_redirect_uris: row.metadata.redirect_uris ?? [],
          previous_post_logout_redirect_uris: row.metadata.post_logout_redirect_uris ?? [],
        },
      }),
    );
  });
}

/** The provider-facing metadata of a stored client, or undefined when it is unknown or its service is suspended. */
export async function loadClientMetadata(db: Knex, box: SecretBox, clientId: string): Promise<Record<string, unknown> | undefined> {
  const row = await clientQueries.byId(db, clientId);
  if (!row || row.service_status === 'suspended') return undefined;
  return {
    ...row.metadata,
    client_id: row.client_id,
    ...(row.client_secret_sealed ? { client_secret: box.open(row.client_secret_sealed) } : {}),
    'urn:uniqverse:service': row.service_slug,
    'urn:uniqverse:first_party': Boolean(row.first_party),
  };
}
