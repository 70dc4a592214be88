import { readFile } from 'node:fs/promises';
import { declareGraphSource, graphSources } from '../catalog/graph-sources.ts';
import { hubSchema } from '../web/graphql/schema.ts';
import { graphSourceCheck } from '../catalog/graph-declarations.ts';
import { demoAccount, postLogoutRedirectUri, redirectUri, serviceUrl, vezeServices, type SeedService } from '../../seeds/veze-services.ts';
import { randomToken } from '../platform/crypto/tokens.ts';
import { clientQueries } from '../queries/clients.ts';
import { createClient, type ClientMetadataValidator } from '../catalog/clients.ts';
import { entitlementQueries } from '../queries/entitlements.ts';
import { grantEntitlement } from '../catalog/entitlements.ts';
import { serviceQueries, type ServiceRow } from '../queries/services.ts';
import { createService, publicService, type PublicService } from '../catalog/services.ts';
import { userQueries } from '../queries/users.ts';
import { personDirectory } from '../queries/person-directory.ts';
import { createUser } from '../identity/users.ts';
import { cliActor } from '../audit/actors.ts';
import { createClientValidator } from './client-validator.ts';
import type { CliContext } from './context.ts';

interface SeededService extends PublicService {
  created: boolean;
}

interface SeededClient {
  service: string;
  client_id: string;
  redirect_uri: string;
  created: boolean;
  /** Only when created by this run: it is never shown again. */
  client_secret?: string;
}

interface SeededAccount {
  email: string;
  name: string;
  created: boolean;
  /** Only when created by this run. */
  password?: string;
}

export interface SeedResult {
  services: SeededService[];
  clients: SeededClient[];
  demo: SeededAccount;
  entitlements: Array<{ service: string; tier: string; change: 'granted' | 'unchanged' }>;
  /** The fields each service answers in /graphql (seeds/graph-sources/<slug>.graphql), declared once. */
  graph: Array<{ service: string; fields: string[]; change: 'declared' | 'unchanged' }>;
}

const graphSourceFile = (slug: string) => new URL(`../../seeds/graph-sources/${slug}.graphql`, import.meta.url);

/** Declares the seed's part of /graphql for a service that has a file for it and has declared nothing yet. */
async function seedGraphSource(ctx: CliContext, spec: SeedService): Promise<SeedResult['graph'][number] | null> {
  let sdl: string;
  try {
    sdl = await readFile(graphSourceFile(spec.slug), 'utf8');
  } catch {
    return null;
  }
  const declared = (await graphSources(ctx.db)).find((s) => s.slug === spec.slug);
  if (declared) return { service: spec.slug, fields: [], change: 'unchanged' };
  const fields = await declareGraphSource(ctx.db, spec.slug, sdl, graphSourceCheck(hubSchema), cliActor());
  return { service: spec.slug, fields, change: 'declared' };
}

async function seedService(ctx: CliContext, spec: SeedService): Promise<{ row: ServiceRow; created: boolean }> {
  const existing = await serviceQueries.bySlug(ctx.db, spec.slug);
  if (existing) return { row: existing, created: false };
  const url = serviceUrl(spec);
  const row = await createService(ctx.db, { slug: spec.slug, name: spec.name, url, upstreamUrl: url, healthUrl: new URL('health', `${url.replace(/\/$/, '')}/`).href, firstParty: true, defaultTier: spec.defaultTier }, cliActor());
  return { row, created: true };
}

async function seedWebClient(ctx: CliContext, validate: ClientMetadataValidator, spec: SeedService, service: ServiceRow): Promise<SeededClient> {
  const uri = redirectUri(spec);
  const clients = await clientQueries.forService(ctx.db, service.id);
  const existing = clients.find((c) => c.type === 'web' && Array.isArray(c.metadata.redirect_uris) && c.metadata.redirect_uris.includes(uri));
  if (existing) return { service: spec.slug, client_id: existing.client_id, redirect_uri: uri, created: false };
  const client = await createClient(ctx.db, ctx.secrets.clients, validate, {
    service: spec.slug,
    type: 'web',
    redirectUris: [uri],
    postLogoutRedirectUris: [postLogoutRedirectUri(spec)],
    name: spec.name,
  }, cliActor());
  return { service: spec.slug, client_id: client.client_id, redirect_uri: uri, created: true, client_secret: client.client_secret };
}

async function seedDemoAccount(ctx: CliContext): Promise<SeededAccount> {
  const existing = await userQueries.byEmail(ctx.db, demoAccount.email);
  if (existing) return { email: existing.email, name: existing.name, created: false };
  const password = randomToken(12);
  const user = await createUser(ctx.db, ctx.hasher, { ...demoAccount, password, emailVerified: true }, cliActor());
  return { email: user.email, name: user.name, created: true, password };
}

/**
 * Makes sure the VEZE services, their dev web clients, the demo account and its entitlements
 * exist. What exists already is left as it is (a tier changed since is kept), so it can run any
 * number of times; secrets and the demo password are shown only by the run that creates them.
 * Each thing it creates is audited as the operator's act, as the single commands audit them.
 */
export async function seed(ctx: CliContext): Promise<SeedResult> {
  const validate = await createClientValidator(ctx);
  const result: SeedResult = { services: [], clients: [], demo: { ...demoAccount, created: false }, entitlements: [], graph: [] };
  const rows = new Map<string, ServiceRow>();
  for (const spec of vezeServices) {
    const { row, created } = await seedService(ctx, spec);
    rows.set(spec.slug, row);
    result.services.push({ ...publicService(row), created });
    result.clients.push(await seedWebClient(ctx, validate, spec, row));
    const graph = await seedGraphSource(ctx, spec);
    if (graph) result.graph.push(graph);
  }
  // With data residency, in the demo person's home region (found by their email once they exist), where the services must be first.
  await ctx.copyCatalog?.();
  result.demo = await personDirectory.forEmail(ctx.db, demoAccount.email, () => seedDemoAccount(ctx));
  await personDirectory.forEmail(ctx.db, demoAccount.email, () => seedEntitlements(ctx, rows, result));
  return result;
}

async function seedEntitlements(ctx: CliContext, rows: Map<string, ServiceRow>, result: SeedResult): Promise<void> {
  const demo = (await userQueries.byEmail(ctx.db, demoAccount.email))!;
  for (const spec of vezeServices) {
    const service = rows.get(spec.slug)!;
    const tier = service.default_tier;
    if (!tier) continue;
    const existing = await entitlementQueries.find(ctx.db, demo.id, service.id);
    if (existing) {
      result.entitlements.push({ service: spec.slug, tier: existing.tier, change: 'unchanged' });
    } else {
      await grantEntitlement(ctx.db, { email: demo.email, service: spec.slug, tier }, cliActor());
      result.entitlements.push({ service: spec.slug, tier, change: 'granted' });
    }
  }
}
