import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { HubTokenVerifier } from '../oidc/hub-token.ts';
import { createEventSystem, type EventSystem } from '../events/event-system.ts';
import { dailySummarySender, optOutKey } from '../events/daily-summary.ts';
import { hubCors } from '../web/api/hub-cors.ts';
import { DeviceSightings } from '../devices/device-sightings.ts';
import { attachLiveWebSocket } from '../web/live/live-routes.ts';
import { accessOf } from '../web/live/live-access.ts';
import { graphqlPath } from '../web/graphql/routes.ts';
import { graphqlWebSocket } from '../web/graphql/websocket.ts';
import { hubSchema } from '../web/graphql/schema.ts';
import { GatewayFieldFetcher, ServiceGraphs } from '../web/graphql/service-fields.ts';
import { graphSources } from '../catalog/graph-sources.ts';
import { ServiceGateway } from '../web/http/service-gateway.ts';
import type { Config } from '../platform/config.ts';
import { createSecrets } from '../platform/crypto/hub-secrets.ts';
import { sealAuditWith } from '../audit/personal-seal.ts';
import type { Database } from '../db/database.ts';
import { openHubDatabases, type HubDatabases } from './hub-databases.ts';
import { startCatalogCopier, type CatalogCopier } from '../catalog/catalog-copies.ts';
import { forgetMovedPeople } from '../queries/person-directory.ts';
import { migrateSchema } from '../db/migrate.ts';
import { withProviderLane } from '../web/http/provider-lane.ts';
import { serveWhenReady } from '../web/http/availability.ts';
import { tokenThrottle } from '../web/http/token-throttle.ts';
import { ServiceRateLimits } from '../catalog/service-rate-limits.ts';
import { createViews } from '../platform/views.ts';
import { PasswordHasher } from '../identity/password-hashing.ts';
import { createLimits, type Limits } from '../platform/rate-limits.ts';
import { createShortLivedStore, type ShortLivedStore } from '../platform/short-lived-store.ts';
import { startCredentialNotices } from '../identity/credential-notices.ts';
import { createMailer } from '../platform/mail/mailer.ts';
import { mailTemplates } from '../platform/mail/messages.ts';
import { startCheckpointWriter, type CheckpointWriter } from '../audit/checkpoints.ts';
import { createLogger, type Logger } from '../platform/logger.ts';
import { deleteExpiredModels } from '../oidc/adapter.ts';
import { startChangeFeed } from '../db/change-feed.ts';
import { createProviderPages } from '../web/sign-in/device-flow-pages.ts';
import { cachedMetadataFor } from '../oidc/cached-metadata.ts';
import { ProviderHolder } from '../oidc/provider-holder.ts';
import { machineRoutes } from '../oidc/provider.ts';
import { ensureSigningKeys } from '../oidc/signing-keys.ts';
import type { AppContext } from '../web/http/app-context.ts';
import { buildApp, handlerFor, type HubRoutes } from './http-app.ts';
import { readinessChecks } from './readiness.ts';
import { providerErrorPage } from '../web/sign-in/error-page.ts';
import { createHubMetrics } from '../platform/hub-metrics.ts';
import { measureRequests } from '../web/http/request-metrics.ts';
import { registerInstanceMetrics } from './instance-metrics.ts';
import { startTracing, type Tracing } from '../platform/tracing.ts';
import { traceQueries } from '../db/query-spans.ts';
import { tracedRequests } from '../web/http/request-spans.ts';

export interface Hub extends AppContext {
  server: http.Server;
  /** Signs the audit chain into DATA_DIR/audit-checkpoints; flush() signs what is pending now. */
  auditCheckpoints: CheckpointWriter;
  url: string;
  /** The hub's own routes (its Koa routers), as registered; the provider's are in its discovery document. */
  routes: HubRoutes;
  close(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  /** Migrate on start (default true); a function migrates instead (tests use it to hold the start). */
  migrate?: boolean | ((db: Database['db']) => Promise<unknown>);
  /** What /metrics answers: this process's registry by default; under `--workers`, every process's. */
  metricsText?: () => Promise<string>;
}

export { createSecrets };

function listen(server: http.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/**
 * Opens the database, migrates, makes sure signing keys exist, and serves. With port 0 it
 * listens first and takes the issuer from the port it got (tests and benchmarks).
 */
export async function startHub(configIn: Config, options: StartOptions = {}): Promise<Hub> {
  const config = { ...configIn };
  const logger = options.logger ?? createLogger(config.logLevel);
  for (const warning of config.warnings) logger.warn(warning);

  const server = http.createServer();
  server.keepAliveTimeout = 65_000;
  // Answers 503 + Retry-After from the moment we listen until the hub is ready, and again while it closes.
  const availability = serveWhenReady(server, { production: config.production });
  const port = await listen(server, config.port, config.host);
  // Only the default issuer (http://localhost:0) follows the port; an ISSUER set explicitly is kept (instances behind one address).
  if (configIn.port === 0 && new URL(configIn.issuer).port === '0') config.issuer = `http://127.0.0.1:${port}`;
  config.port = port;

  // Before anything is built: the provider, the app and the database look at it once, when they are made.
  const tracing: Tracing | null = config.tracing ? await startTracing(logger) : null;
  let database: HubDatabases | null = null;
  let events: EventSystem | null = null;
  let startedLimits: Limits | null = null;
  let stopFeed: (() => Promise<void>) | null = null;
  let stopCopier: CatalogCopier | null = null;
  let stopDirectoryNotices: (() => Promise<void>) | null = null;
  let startedShortLived: ShortLivedStore | null = null;
  try {
    database = await openHubDatabases(config);
    const { db, router } = database;
    const everyDb = database.each();
    const mainDb = database.main.db;
    for (const each of everyDb) {
      if (tracing) traceQueries(each.db, each.target);
      if (typeof options.migrate === 'function') await options.migrate(each.db);
      else if (options.migrate !== false) await migrateSchema(each.db, config.migrationDatabaseUrl);
      sealAuditWith(each.db, config.secret);
    }
    const secrets = createSecrets(config.secret);
    await ensureSigningKeys(mainDb, secrets.keys);
    // With residency, each region holds a copy of the catalogue and the keys, kept by the copier.
    const catalogCopier = router ? await startCatalogCopier(router, config.database, logger) : null;
    stopCopier = catalogCopier;
    const stopForgetting = router ? await forgetMovedPeople(router, config.database, logger) : null;
    stopDirectoryNotices = stopForgetting;
    const views = createViews({ watch: false, globals: { issuer: config.issuer } });
    const hasher = new PasswordHasher();
    const metrics = new Registry();
    const hubMetrics = createHubMetrics(metrics);
    const limits = await createLimits({ redisUrl: config.redisUrl, redisPrefix: config.redisPrefix, logger, onRefused: (limit) => hubMetrics.rateLimitRefusals.inc({ limit }) });
    startedLimits = limits;
    const shortLived = createShortLivedStore(config.redisUrl, config.redisPrefix);
    startedShortLived = shortLived;
    const holder = await ProviderHolder.create({
      shortLived,
      config,
      db,
      clientSecrets: secrets.clients,
      keyBox: secrets.keys,
      logger,
      pages: createProviderPages(views, { secureCookies: config.secureCookies }),
      renderError: providerErrorPage(views),
      limits,
      metrics: hubMetrics,
    });
    const feeds: Array<() => Promise<void>> = [];
    const stopChangeFeed = async () => {
      for (const stop of feeds.splice(0)) await stop();
    };
    stopFeed = stopChangeFeed;
    for (const each of everyDb) feeds.push(await startChangeFeed(each.db, each.target, holder.caches, logger));
    const mailer = createMailer({ smtpUrl: config.smtpUrl, from: config.mailFrom, dataDir: config.dataDir, logger });
    const auditCheckpoints = startCheckpointWriter({ db: mainDb, dataDir: config.dataDir, secret: config.secret, logger });
    // Each region's audit chain is signed too (each database has a chain id of its own, and so its own checkpoint folder).
    const regionalCheckpoints = database.regions.map((r) => startCheckpointWriter({ db: r.database.db, dataDir: config.dataDir, secret: config.secret, logger }));
    const mail = mailTemplates(views, config.issuer);
    // Jobs over people's rows run once per database: each region's on its own.
    const credentialNotices = everyDb.map((each) => startCredentialNotices({ db: each.db, mailer, mail, logger }));
    const dailySummaries = everyDb.map((each) => dailySummarySender({ db: each.db, mailer, mail, logger, issuer: config.issuer, key: optOutKey(config.secret), sendFrom: config.dailySummary.fromMinute, pollMs: config.dailySummary.pollSeconds * 1000 }));
    registerInstanceMetrics(metrics, { db, hasher, holder, auditCheckpoints });
    events = createEventSystem({ config, db: mainDb, logger, registry: metrics, limits, regionDbs: everyDb.slice(1) });
    const hubTokens = new HubTokenVerifier({ db, keyBox: secrets.keys, issuer: config.issuer });
    holder.onSwap(() => hubTokens.invalidate());
    const bus = events.bus;
    const readiness = readinessChecks({ db, bus, holder, redis: Boolean(config.redisUrl) });
    const serviceRates = new ServiceRateLimits(db);
    const metricsText = options.metricsText ?? (() => metrics.metrics());
    const gateway = new ServiceGateway({ db, holder, issuer: config.issuer, limits, gateway: config.gateway, hubMetrics });
    const graphs = new ServiceGraphs({ read: () => graphSources(db), hubSchema, fetcher: new GatewayFieldFetcher(gateway, config.issuer), logger });
    const context: AppContext = { config, db, logger, views, hasher, holder, secrets, limits, mailer, mail, metrics, metricsText, hubMetrics, events, hubTokens, readiness, serviceRates, gateway, graphs };
    const { app, routes } = buildApp(context);
    const lane = withProviderLane(app.callback(), () => handlerFor(holder.current), { production: config.production, paths: Object.values(machineRoutes), cachedMetadata: cachedMetadataFor(holder), throttleToken: tokenThrottle(limits, serviceRates) });
    // With residency each request is a unit of work: the region of the person it turns out to be for holds to its end.
    const routed: typeof lane = router ? (req, res) => router.within(() => lane(req, res)) : lane;
    const measured = measureRequests(routed, hubMetrics);
    availability.ready(tracing ? tracedRequests(measured) : measured);
    await events.start();
    for (const sender of dailySummaries) sender.start();
    const liveDeps = { db, verifier: hubTokens, holder, issuer: config.issuer, events, logger, trustProxy: config.trustProxy, cors: hubCors(db, config.issuer), sightings: new DeviceSightings(db) };
    const graphqlWs = graphqlWebSocket({ ...liveDeps, limits, serviceRates, graphs, production: config.production, permits: liveDeps.cors.permits, liveAccess: (caller) => accessOf(liveDeps, caller, false), ...(router ? { unitOfWork: <T>(work: () => Promise<T>) => router.within(work) } : {}) });
    const detachLive = attachLiveWebSocket(server, { ...liveDeps, upgrades: { [graphqlPath]: graphqlWs.handleUpgrade }, ...(router ? { unitOfWork: (work: () => void) => router.within(work) } : {}) });
    const runningEvents = events;

    const sweeper = setInterval(() => {
      for (const each of everyDb) deleteExpiredModels(each.db).catch((error) => logger.warn({ err: error }, 'expired model sweep failed'));
    }, 5 * 60_000);
    sweeper.unref();

    const url = config.issuer;
    logger.info({ url, database: config.database.kind, redis: Boolean(config.redisUrl) }, 'UniQVerse is listening');
    const openDb = database;
    return {
      ...context,
      server,
      auditCheckpoints,
      url,
      routes,
      async close() {
        // New requests get 503 from here; the listener stops; live streams end with a reconnect hint; requests in flight
        // get a few seconds to finish before every connection left is closed.
        availability.closing();
        const drained = availability.drain(5000);
        clearInterval(sweeper);
        holder.stop();
        const liveClosed = detachLive();
        // Stops the live streams first: each is told to reconnect (SSE event, WebSocket 1012).
        await runningEvents.stop();
        await liveClosed;
        await graphqlWs.close();
        await drained;
        await auditCheckpoints.stop();
        for (const writer of regionalCheckpoints) await writer.stop();
        for (const notices of credentialNotices) await notices.stop();
        for (const sender of dailySummaries) await sender.stop();
        await catalogCopier?.stop();
        await stopForgetting?.();
        await mailer.close();
        await limits.close();
        await shortLived.close();
        await stopChangeFeed();
        await openDb.close();
        await tracing?.stop();
      },
    };
  } catch (error) {
    await availability.drain(0);
    await events?.stop().catch(() => undefined);
    await startedLimits?.close();
    await startedShortLived?.close();
    await stopFeed?.().catch(() => undefined);
    await stopCopier?.stop().catch(() => undefined);
    await stopDirectoryNotices?.().catch(() => undefined);
    await database?.close();
    await tracing?.stop();
    throw error;
  }
}
