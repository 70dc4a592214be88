import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import type { GraphQLSchema } from 'graphql';
import { buildServiceGraph, pathWithArguments, type GraphSource, type RestField } from '../../catalog/graph-declarations.ts';
import { databaseRetryAfter, databaseUnavailableMessage, isDatabaseUnavailable } from '../../db/unavailable.ts';
import { AppError } from '../../platform/errors.ts';
import type { Logger } from '../../platform/logger.ts';
import type { ServiceGateway } from '../http/service-gateway.ts';
import type { PersonCaller } from './callers.ts';
import { person, type GraphqlContext } from './schema.ts';

/** A GET of a service's path for the person a request acts for. */
export interface ServiceFieldRequest {
  service: string;
  path: string;
  caller: PersonCaller;
  /** Where the person's request came from (the gateway's Forwarded). */
  ip: string;
}

/** What answers a service's field: GET a path of the service for a person, through the gateway. */
export interface ServiceFieldFetcher {
  get(request: ServiceFieldRequest): Promise<{ status: number; body: unknown }>;
}

/** The most of a service's answer a field reads: more is the service's mistake, answered as "busy". */
const answerLimitBytes = 1024 * 1024;

async function readJson(answer: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of answer as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > answerLimitBytes) {
      answer.destroy();
      throw new Error(`answer over ${answerLimitBytes} bytes`);
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : null;
}

/**
 * Services' fields through the gateway (src/web/http/service-gateway.ts): the same token exchange,
 * budget, circuit, timeouts and metric as /gateway/<slug>/…, asking for JSON.
 */
export class GatewayFieldFetcher implements ServiceFieldFetcher {
  private readonly gateway: ServiceGateway;
  private readonly issuer: URL;

  constructor(gateway: ServiceGateway, issuer: string) {
    this.gateway = gateway;
    this.issuer = new URL(issuer);
  }

  async get(request: ServiceFieldRequest): Promise<{ status: number; body: unknown }> {
    const { answer } = await this.gateway.send({
      service: request.service,
      caller: async () => request.caller,
      method: 'GET',
      path: request.path,
      headers: { accept: 'application/json' },
      body: null,
      via: { ip: request.ip, host: this.issuer.host, proto: this.issuer.protocol.replace(':', ''), requestId: randomUUID() },
    });
    const status = answer.statusCode ?? 502;
    try {
      return { status, body: await readJson(answer) };
    } catch {
      // Not JSON, or too much of it: the service did not answer as it declared.
      return { status: status >= 200 && status < 300 ? 502 : status, body: null };
    }
  }
}

/** Turns an answer of the service into the field's value, or the error the field carries. */
function valueOf(field: RestField, answer: { status: number; body: unknown }): unknown {
  if (answer.status >= 200 && answer.status < 300) {
    if (field.pick === null) return answer.body;
    const body = answer.body as Record<string, unknown> | null;
    return body && typeof body === 'object' && field.pick in body ? body[field.pick] : null;
  }
  const detail = (answer.body as { detail?: unknown; title?: unknown; error?: unknown } | null) ?? {};
  const said = [detail.detail, detail.title, detail.error].find((x): x is string => typeof x === 'string');
  const because = said ? `: ${said.slice(0, 200)}` : '.';
  if (answer.status === 404) throw new AppError('not_found', `${field.serviceName} found nothing for ${field.field}${because}`);
  if (answer.status === 400 || answer.status === 422) throw new AppError('invalid_input', `${field.serviceName} refused the arguments of ${field.field}${because}`);
  if (answer.status === 429) throw new AppError('rate_limited', `${field.serviceName} is asked too often; try ${field.field} again shortly.`);
  throw new AppError('busy', `${field.serviceName} could not answer ${field.field} (${answer.status}); the rest of the answer is unaffected.`);
}

/** GETs the field's path of its service for the person and reads the answer (valueOf). */
export async function fetchServiceField(fetcher: ServiceFieldFetcher, field: RestField, args: Record<string, unknown>, caller: PersonCaller, ip: string): Promise<unknown> {
  let answer: { status: number; body: unknown };
  try {
    answer = await fetcher.get({ service: field.service, path: pathWithArguments(field.path, args), caller, ip });
  } catch (error) {
    // Not behind the gateway (suspended, or no upstream URL): for the field, the service is not there now.
    if (error instanceof AppError && error.expose && error.code !== 'not_found') throw error;
    throw new AppError('busy', `${field.serviceName} could not be reached for ${field.field}; the rest of the answer is unaffected.`, { cause: error });
  }
  return valueOf(field, answer);
}

/** How soon sources that could not be read are asked again. */
const retryUnreadableMs = 5000;

/**
 * The schema /graphql serves: the hub's own, grown by the services' declared sources. It is read
 * again at most every `ttlMs` (as the provider's service cache is), and rebuilt only when a source
 * changed; this instance's own declarations take effect at once (`forget`).
 */
export class ServiceGraphs {
  private schema: GraphQLSchema | null = null;
  private fingerprint = '';
  private checkedAt = 0;
  private loading: Promise<GraphQLSchema> | null = null;
  private readonly read: () => Promise<GraphSource[]>;
  private readonly hubSchema: GraphQLSchema;
  private readonly fetcher: ServiceFieldFetcher;
  private readonly logger: Logger;
  private readonly ttlMs: number;

  /** `read`: the declared sources (graphSources of src/catalog/graph-sources.ts). */
  constructor(options: { read: () => Promise<GraphSource[]>; hubSchema: GraphQLSchema; fetcher: ServiceFieldFetcher; logger: Logger; ttlMs?: number }) {
    this.read = options.read;
    this.hubSchema = options.hubSchema;
    this.fetcher = options.fetcher;
    this.logger = options.logger;
    this.ttlMs = options.ttlMs ?? 30_000;
  }

  /**
   * The schema of the moment. While the sources cannot be read, the last schema is served (and
   * asked again in a few seconds); with none yet, a 503 "busy" that says to try again.
   */
  async current(): Promise<GraphQLSchema> {
    if (this.schema && Date.now() - this.checkedAt < this.ttlMs) return this.schema;
    this.loading ??= this.load()
      .catch((error: unknown) => {
        if (!isDatabaseUnavailable(error)) throw error;
        if (!this.schema) throw new AppError('busy', databaseUnavailableMessage, { retryAfter: databaseRetryAfter, cause: error });
        this.logger.warn({ err: error }, 'services\' GraphQL fields could not be read; serving the last schema');
        this.checkedAt = Date.now() - this.ttlMs + retryUnreadableMs;
        return this.schema;
      })
      .finally(() => {
        this.loading = null;
      });
    return this.loading;
  }

  forget(): void {
    this.checkedAt = 0;
  }

  private async load(): Promise<GraphQLSchema> {
    const sources = await this.read();
    const fingerprint = JSON.stringify(sources);
    if (!this.schema || fingerprint !== this.fingerprint) {
      const graph = buildServiceGraph(this.hubSchema, sources, (field) => (_root, args, context) => {
        const me = person(context as GraphqlContext);
        return fetchServiceField(this.fetcher, field, args as Record<string, unknown>, me, (context as GraphqlContext).origin.ip ?? 'unknown');
      }, this.logger);
      this.schema = graph.schema;
      this.fingerprint = fingerprint;
    }
    this.checkedAt = Date.now();
    return this.schema;
  }
}
