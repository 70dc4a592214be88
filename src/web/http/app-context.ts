import type { GraphQLSchema } from 'graphql';
import type { ServiceGateway } from './service-gateway.ts';
import type { Registry } from 'prom-client';
import type { ServiceRateLimits } from '../../catalog/service-rate-limits.ts';
import type { EventSystem } from '../../events/event-system.ts';
import type { PasswordHasher } from '../../identity/password-hashing.ts';
import type { HubTokenVerifier } from '../../oidc/hub-token.ts';
import type { ProviderHolder } from '../../oidc/provider-holder.ts';
import type { Config } from '../../platform/config.ts';
import type { CredentialHasher } from '../../platform/crypto/credential-hash.ts';
import type { SecretBox } from '../../platform/crypto/secret-box.ts';
import type { Logger } from '../../platform/logger.ts';
import type { Mailer } from '../../platform/mail/mailer.ts';
import type { MailTemplates } from '../../platform/mail/messages.ts';
import type { Limits } from '../../platform/rate-limits.ts';
import type { HubMetrics } from '../../platform/hub-metrics.ts';
import type { Views } from '../../platform/views.ts';
import type { Database } from '../../db/database.ts';
import type { ReadinessCheck } from './health.ts';

/**
 * What the composition root (src/app/start.ts) builds once and hands to the web layer, passed in
 * explicitly (no module-level singletons). It lives here, below the routes, so that no route
 * imports the composition root; each route factory takes only the fields it uses
 * (`Pick<AppContext, ...>`).
 */
export interface AppContext {
  config: Config;
  db: Database['db'];
  logger: Logger;
  views: Views;
  hasher: PasswordHasher;
  holder: ProviderHolder;
  secrets: { keys: SecretBox; clients: SecretBox; totp: SecretBox; credentials: CredentialHasher };
  /** Brute-force limits for every credential path (src/platform/rate-limits.ts). */
  limits: Limits;
  /** Each service's API rate limits, by client (src/catalog/service-rate-limits.ts). */
  serviceRates: ServiceRateLimits;
  mailer: Mailer;
  mail: MailTemplates;
  /** Prometheus metrics of this instance, served at /metrics: register yours here. */
  metrics: Registry;
  /** What /metrics answers: `metrics` itself, or under `--workers` every process's series summed. */
  metricsText: () => Promise<string>;
  /** The request, sign-in, token and limit counters on that registry (src/platform/hub-metrics.ts). */
  hubMetrics: HubMetrics;
  /** The event stream: relay, bus, live fan-out, subscribers, webhooks (src/events/event-system.ts). */
  events: EventSystem;
  /** Verifies access tokens for the hub's own API (<ISSUER>/hub). */
  hubTokens: HubTokenVerifier;
  /** What /readyz checks besides the database: Redis, when REDIS_URL is set. */
  readiness: ReadinessCheck[];
  /** The way to services' APIs for a person: /gateway/<slug>/… and the services' fields of /graphql. */
  gateway: ServiceGateway;
  /** The schema /graphql serves, with the services' declared fields (src/web/graphql/service-fields.ts ServiceGraphs). */
  graphs: { current(): Promise<GraphQLSchema>; forget(): void };
}
