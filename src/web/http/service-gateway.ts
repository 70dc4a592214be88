import type http from 'node:http';
import type { Readable } from 'node:stream';
import type { Knex } from 'knex';
import { portalClientId } from '../../catalog/clients.ts';
import { ratesOf } from '../../catalog/service-rate-limits.ts';
import type { ProviderHolder } from '../../oidc/provider-holder.ts';
import { exchangeForService, ExchangeRefused, gatewayActor } from '../../oidc/token-exchange.ts';
import type { GatewayConfig } from '../../platform/config.ts';
import { AppError } from '../../platform/errors.ts';
import { CircuitBreakers } from '../../platform/gateway/circuit-breaker.ts';
import { upstreamRequestHeaders, type ForwardedFor } from '../../platform/gateway/upstream-headers.ts';
import { callUpstream, UpstreamFailure } from '../../platform/gateway/upstream-request.ts';
import type { HubMetrics } from '../../platform/hub-metrics.ts';
import type { Limits, Throttled } from '../../platform/rate-limits.ts';
import { grantQueries } from '../../queries/oidc-models.ts';
import { serviceQueries, type ServiceRow } from '../../queries/services.ts';
import type { Caller } from './callers.ts';

type PersonCaller = Extract<Caller, { kind: 'person' }>;

type Outcome = 'ok' | 'upstream_error' | 'unreachable' | 'timeout' | 'circuit_open' | 'too_large' | 'rate_limited' | 'refused';

const slugPattern = /^[a-z][a-z0-9-]{1,39}$/;

export interface ServiceGatewayDeps {
  db: Knex;
  holder: ProviderHolder;
  issuer: string;
  limits: Pick<Limits, 'throttle'>;
  gateway: GatewayConfig;
  hubMetrics: Pick<HubMetrics, 'gatewayRequests'>;
}

/** One request for a service, on a person's behalf. */
export interface ServiceRequest {
  /** The service's slug. */
  service: string;
  /** Who asks: checked once the service is known to be behind the gateway (an unknown service is 404 to anyone). */
  caller: () => Promise<PersonCaller>;
  method: string;
  /** The path under the service's upstream URL, with its query: "/inbox?limit=2". Checked by the caller. */
  path: string;
  /** What the caller sent that may go on (upstreamRequestHeaders drops the rest). */
  headers: http.IncomingHttpHeaders;
  body: Readable | null;
  via: ForwardedFor;
  /** Hears the person's budget at the service before anything is sent (the route's RateLimit headers). */
  onBudget?: (budget: Throttled) => void;
}

export type ServiceAnswer = { service: ServiceRow; answer: http.IncomingMessage };

/**
 * The way to a service's API for a person, shared by /gateway/<slug>/… and the services' fields of
 * /graphql: the service's upstream URL, a token made for it by token exchange (`act` naming the
 * gateway) in place of the caller's credentials, the person's budget there, a circuit per service,
 * the timeouts and body limit, and a metric by service and outcome. A third-party service is
 * reached only for a person who signed in to it (it holds their consent); a first-party one always.
 * Throws AppError: 404, 403, 413, 429, 503 (circuit open), 502 (unreachable), 504 (timeout).
 */
export class ServiceGateway {
  private readonly deps: ServiceGatewayDeps;
  private readonly circuits: CircuitBreakers;
  readonly bodyLimitBytes: number;

  constructor(deps: ServiceGatewayDeps) {
    this.deps = deps;
    this.circuits = new CircuitBreakers(deps.gateway.circuitFailures, deps.gateway.circuitOpenMs);
    this.bodyLimitBytes = deps.gateway.bodyLimitBytes;
  }

  private async serviceFor(slug: string): Promise<ServiceRow & { upstream_url: string }> {
    const service = slugPattern.test(slug) ? await serviceQueries.bySlug(this.deps.db, slug) : undefined;
    if (!service || service.status !== 'active' || !service.upstream_url) throw new AppError('not_found', `No active service "${slug.slice(0, 40)}" is behind the gateway.`);
    return service as ServiceRow & { upstream_url: string };
  }

  /** A token for the person at the service, `act` naming the gateway; refused (a disabled account, a gone client, no consent): 403. */
  private async tokenFor(caller: PersonCaller, service: ServiceRow): Promise<string> {
    if (!service.first_party) {
      const connected = await grantQueries.servicesOf(this.deps.db, [caller.user.id]);
      if (!connected.some((row) => row.service_id === service.id)) {
        throw new AppError('forbidden', `${service.name} is not one of yours: sign in to it once (and allow what it asks) before the hub carries your requests there.`);
      }
    }
    try {
      const token = await exchangeForService(this.deps.holder.current, this.deps.db, {
        accountId: caller.user.id,
        clientId: caller.clientId ?? portalClientId,
        target: service,
        actor: { sub: gatewayActor(this.deps.issuer) },
        ...(caller.claims?.grantRef ? { grantRef: caller.claims.grantRef } : {}),
      });
      return token.accessToken;
    } catch (error) {
      if (error instanceof ExchangeRefused) throw new AppError('forbidden', `No token for ${service.slug}: ${error.message}.`);
      throw error;
    }
  }

  /** Sends the request and resolves once the service's answer begins (its body streams after). */
  async send(request: ServiceRequest): Promise<ServiceAnswer> {
    const started = process.hrtime.bigint();
    let outcome: Outcome = 'refused';
    let slug = 'unknown';
    try {
      const service = await this.serviceFor(request.service);
      slug = service.slug;
      const caller = await request.caller();
      const base = new URL(service.upstream_url);
      const basePath = base.pathname.replace(/\/+$/, '');
      const target = new URL(base);
      const queryAt = request.path.indexOf('?');
      target.pathname = basePath + (queryAt < 0 ? request.path : request.path.slice(0, queryAt));
      target.search = queryAt < 0 ? '' : request.path.slice(queryAt);
      // Whatever the path says, the request stays under the service's upstream URL.
      if (target.origin !== base.origin || !`${target.pathname}/`.startsWith(`${basePath}/`)) throw new AppError('bad_request', 'The path leaves the service\'s URL.');

      const budget = await this.deps.limits.throttle('hub', `gateway|${service.id}|${caller.user.id}`, ratesOf(service).hub);
      request.onBudget?.(budget);
      if (!budget.allowed) {
        outcome = 'rate_limited';
        throw new AppError('rate_limited', `Too many requests to ${service.slug} through the gateway: at most ${budget.limit} a minute.`, { retryAfter: Math.max(1, budget.reset) });
      }
      if (Number(request.headers['content-length'] || 0) > this.bodyLimitBytes) {
        outcome = 'too_large';
        throw this.tooLarge();
      }
      const admission = this.circuits.admit(service.id);
      if (!admission.allowed) {
        outcome = 'circuit_open';
        throw new AppError('busy', `${service.name} is failing: the gateway stopped calling it for a while. Try again in ${admission.retryAfterSeconds} s.`, { retryAfter: admission.retryAfterSeconds });
      }

      // The circuit hears a verdict on the upstream (or that there was none) whatever happens below: a probe never stays taken.
      let verdict: 'succeeded' | 'failed' | 'released' = 'released';
      try {
        const token = await this.tokenFor(caller, service);
        let answer: http.IncomingMessage;
        try {
          answer = await callUpstream(
            { url: target, method: request.method, headers: upstreamRequestHeaders(request.headers, token, target.host, request.via), body: request.body },
            { connectTimeoutMs: this.deps.gateway.connectTimeoutMs, timeoutMs: this.deps.gateway.timeoutMs, bodyLimitBytes: this.bodyLimitBytes },
          );
        } catch (error) {
          if (!(error instanceof UpstreamFailure)) throw error;
          if (error.kind === 'too_large') {
            outcome = 'too_large';
            throw this.tooLarge();
          }
          if (error.kind === 'invalid_request') throw new AppError('bad_request', 'The request cannot be forwarded: a header or the method is not valid HTTP.');
          if (request.body?.readableAborted) throw new AppError('bad_request', 'The request body ended early.');
          verdict = 'failed';
          outcome = error.kind;
          throw error.kind === 'timeout' ? new AppError('gateway_timeout', `${service.name} did not answer in time.`, { cause: error }) : new AppError('bad_gateway', `${service.name} could not be reached.`, { cause: error });
        }
        const status = answer.statusCode ?? 502;
        verdict = status >= 500 ? 'failed' : 'succeeded';
        outcome = status >= 500 ? 'upstream_error' : 'ok';
        return { service, answer };
      } finally {
        this.circuits[verdict](service.id);
      }
    } finally {
      this.deps.hubMetrics.gatewayRequests.observe({ service: slug, outcome }, Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  private tooLarge(): AppError {
    return new AppError('payload_too_large', `Send at most ${Math.floor(this.bodyLimitBytes / 1024)} KiB through the gateway.`);
  }
}
