import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';

/**
 * Every setting the hub reads from its environment. The descriptions below are the source of
 * docs/configuration.md: keep them in step.
 */
export const settings = {
  PORT: 'TCP port the hub listens on. Default 3000.',
  WORKERS: 'How many hub processes serve the one port (node:cluster), a number or "auto" (one per core). Needs DATABASE_URL and REDIS_URL: with the embedded database or without Redis the hub runs as one process and says so at start. `uniqverse start --workers N` sets it too. Default 1.',
  HOST: 'Address to bind. Default 0.0.0.0 (every interface).',
  ISSUER: 'Public base URL of the hub; the OpenID Connect issuer. Default http://localhost:$PORT.',
  DATA_DIR: 'Where the embedded database, the generated dev secret and dev mail live. Default ./data.',
  DATABASE_URL: 'postgres:// URL of a PostgreSQL server. Unset: embedded PGlite in $DATA_DIR/pglite.',
  DATABASE_POOL_MAX: 'The most connections the hub holds open to each PostgreSQL database (besides one for its change notices and one per relay). Default 10.',
  DATABASE_TIMEOUT_SECONDS: 'How long the hub waits for PostgreSQL to accept a connection or answer a query before it gives up (the request answers 503) and replaces the connection; 0 waits for ever. Default 30.',
  DATABASE_URL_EU: 'postgres:// URL of the European region\'s database (data residency). With any of DATABASE_URL_EU, _US, _IN set, each person\'s data lives in their home region\'s database and DATABASE_URL holds the directory (id, region, a keyed hash of the email) and the service catalogue (docs/residency.md). Needs DATABASE_URL.',
  DATABASE_URL_US: 'postgres:// URL of the United States region\'s database (see DATABASE_URL_EU).',
  DATABASE_URL_IN: 'postgres:// URL of the India region\'s database (see DATABASE_URL_EU).',
  DEFAULT_REGION: 'The home region of people signing up without choosing one, and of people created by the CLI: eu, us or in (one of the regions set). Default: the first region set, in the order eu, us, in.',
  MIGRATION_DATABASE_URL: 'postgres:// URL of the role that owns the schema, for migrations only: with it, the hub and the CLI migrate through it, grant the role of DATABASE_URL what it needs (no UPDATE, DELETE or TRUNCATE on the audit tables) and run as that role (docs/runbook.md). Needs DATABASE_URL. Unset: DATABASE_URL\'s role migrates and owns the schema.',
  REDIS_URL: 'redis:// URL. Unset: in-process event bus, in-memory rate limits and sign-ins in progress in memory (one instance only).',
  UNIQVERSE_SECRET: 'Master secret (32+ characters) that encrypts signing keys and TOTP seeds and signs cookies. Generated into $DATA_DIR in development; required when NODE_ENV=production. UNIQVERSE_SECRET_FILE reads it from a file.',
  SMTP_URL: 'smtp:// or smtps:// URL for outgoing mail. Unset: mail is written to $DATA_DIR/mail and listed at /dev/mailbox.',
  MAIL_FROM: 'From address of the hub\'s mail. Default "UniQVerse <no-reply@localhost>".',
  LOG_LEVEL: 'pino level: fatal, error, warn, info, debug, trace, silent. Default info.',
  NODE_ENV: 'production requires UNIQVERSE_SECRET and warns at start about settings unfit for production. Default development.',
  TRUST_PROXY: 'true when a reverse proxy you control sets X-Forwarded-For/-Proto. Default false: the headers are ignored.',
  REDIS_PREFIX: 'Prefix of every Redis key and stream the hub uses. Default "uniqverse:".',
  KEY_REFRESH_SECONDS: 'How often each instance reloads signing keys from the database. Default 30.',
  EVENT_STREAM_LENGTH: 'How many recent events the stream keeps for clients that reconnect (Redis XADD MAXLEN ~, or the in-process ring). Default 10000.',
  LIVE_MAX_PER_PERSON: 'Live streams (/hub/events, SSE and WebSocket) one person may hold open on one instance; past it 429 with Retry-After. Default 20.',
  LIVE_MAX_PER_ADDRESS: 'Live streams one client address may hold open on one instance; past it 429 with Retry-After. Default 100.',
  LIVE_REPLAY_MAX_EVENTS: 'At most this many missed events (the newest) are replayed to a reconnecting live stream; older ones are skipped with a resync marker. Default 500.',
  LIVE_REPLAY_MAX_MINUTES: 'A reconnecting live stream is replayed only the events of the last this many minutes; older ones are skipped with a resync marker. Default 60.',
  ENTITLEMENT_EXPIRY_SWEEP_SECONDS: 'How often each instance looks for entitlements whose expiry has passed, removes them and sends entitlement.expired. Default 30.',
  HEALTH_CHECK_INTERVAL_SECONDS: 'How often the hub asks each active service\'s health URL (one instance asks each service, however many run). Default 30.',
  HEALTH_CHECK_TIMEOUT_SECONDS: 'How long a service\'s health URL has to answer with a 2xx before the check counts as failed. Default 5.',
  DAILY_SUMMARY_TIME: 'From what time on each person\'s own clock (HH:MM, their time zone) the daily summary mail of their day goes to those who turned it on. Default 20:00.',
  DAILY_SUMMARY_POLL_SECONDS: 'How often each instance looks for people whose daily summary is due (each day is mailed once, however many instances run). Default 60.',
  WEBHOOK_TIMEOUT_SECONDS: 'How long a webhook receiver has to answer before the attempt counts as failed and is retried. Default 10.',
  VAPID_PUBLIC_KEY: 'The hub\'s VAPID public key for Web Push (RFC 8292), base64url, as `npx web-push generate-vapid-keys` prints it; set with VAPID_PRIVATE_KEY. Unset: the hub makes a key pair once and keeps it in the database, the private half sealed with UNIQVERSE_SECRET.',
  VAPID_PRIVATE_KEY: 'The private half of VAPID_PUBLIC_KEY, base64url. VAPID_PRIVATE_KEY_FILE reads it from a file.',
  VAPID_SUBJECT: 'Who push services may contact about the hub\'s pushes, a mailto: or https: URL. Default mailto: and the address of MAIL_FROM.',
  APNS_KEY: 'The APNs token-signing key (the .p8 file\'s PEM) for pushing to iOS and macOS apps; APNS_KEY_FILE reads it from the file. With APNS_KEY_ID, APNS_TEAM_ID and APNS_TOPIC, APNs is on; unset, it is off.',
  APNS_KEY_ID: 'The key id (kid) of APNS_KEY, from the Apple developer account.',
  APNS_TEAM_ID: 'The Apple team id: the issuer (iss) of the provider tokens.',
  APNS_TOPIC: 'The app\'s bundle id, sent as apns-topic.',
  APNS_URL: 'Base URL of APNs. Default https://api.push.apple.com (use https://api.sandbox.push.apple.com for development builds).',
  FCM_SERVICE_ACCOUNT: 'A Google service account\'s JSON key (project_id, client_email, private_key, token_uri) for pushing to Android apps through FCM HTTP v1; FCM_SERVICE_ACCOUNT_FILE reads it from the file. Unset: FCM is off.',
  FCM_URL: 'Base URL of the FCM HTTP v1 API. Default https://fcm.googleapis.com.',
  PUSH_CA: 'Extra certificate authorities (PEM) trusted for push services, APNs, FCM and its token URI, beside the system\'s: a push service of your own behind a private CA. PUSH_CA_FILE reads them from a file. Unset: the system\'s only.',
  PUSH_PRIVATE_ENDPOINTS: 'true lets a Web Push subscription\'s endpoint be on a private, loopback or link-local address (a push service of your own inside your network). Default false: a browser\'s endpoint must resolve to public addresses only, so a person cannot make the hub post into its own network.',
  GATEWAY_CONNECT_TIMEOUT_SECONDS: 'How long /gateway/<slug>/ waits to connect to a service\'s upstream before answering 504. Default 5.',
  GATEWAY_TIMEOUT_SECONDS: 'The longest one request through /gateway/<slug>/ may take, from the first byte in to the last byte of the upstream\'s answer: 504 when the upstream has not answered by then, the answer cut off when it is still streaming. Default 30.',
  GATEWAY_BODY_LIMIT_KB: 'The largest request body /gateway/<slug>/ forwards, in KiB; larger ones are refused with 413 (by Content-Length at once, or when a streamed body passes it). Default 10240 (10 MiB).',
  GATEWAY_CIRCUIT_FAILURES: 'How many failures in a row (unreachable, timed out, or a 5xx answer) open a service\'s circuit on an instance: /gateway/<slug>/ then answers 503 with Retry-After without calling the upstream. Default 5.',
  GATEWAY_CIRCUIT_OPEN_SECONDS: 'How long an open circuit stays open before one request is let through to probe the upstream (success closes it, failure opens it again). Default 30.',
  METRICS_TOKEN: 'Bearer token (16+ characters) a Prometheus scraper must send to read /metrics. Unset: /metrics answers only requests from this machine (127.0.0.1, ::1) that did not come through a proxy; a warning at start in production. METRICS_TOKEN_FILE reads it from a file.',
  OTEL_EXPORTER_OTLP_ENDPOINT: 'Base URL of an OpenTelemetry collector\'s OTLP/HTTP receiver (http://collector:4318): set, the hub sends its traces to <URL>/v1/traces. Unset, and OTEL_EXPORTER_OTLP_TRACES_ENDPOINT too: tracing is off and costs nothing.',
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'The full URL traces are sent to (http://collector:4318/v1/traces), in place of OTEL_EXPORTER_OTLP_ENDPOINT\'s; either one turns tracing on.',
  OTEL_EXPORTER_OTLP_PROTOCOL: 'How spans are sent: http/protobuf, http/json or grpc. Default http/protobuf.',
  OTEL_EXPORTER_OTLP_HEADERS: 'Headers sent with every export, as key=value pairs separated by commas (a hosted collector\'s API key).',
  OTEL_SERVICE_NAME: 'service.name of every span. Default uniqverse.',
  OTEL_RESOURCE_ATTRIBUTES: 'More attributes of every span\'s resource, key=value pairs separated by commas (deployment.environment=production,service.instance.id=hub-1).',
  OTEL_TRACES_SAMPLER: 'Which requests are traced: parentbased_always_on (all, and whatever a caller\'s traceparent decided), parentbased_traceidratio (a share, OTEL_TRACES_SAMPLER_ARG), always_on, always_off, traceidratio, parentbased_always_off. Default parentbased_always_on.',
  OTEL_TRACES_SAMPLER_ARG: 'The share of traces the ratio samplers keep, 0 to 1. Default 1.',
  OTEL_SDK_DISABLED: 'true turns tracing off even with an endpoint set. Default false.',
} as const;

export type SettingName = keyof typeof settings;

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  WORKERS: z.string().regex(/^(auto|[1-9]\d{0,2})$/, 'a number of processes (1 to 999) or "auto"').default('1'),
  HOST: z.string().min(1).default('0.0.0.0'),
  ISSUER: z.url({ protocol: /^https?$/ }).optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://').optional(),
  DATABASE_TIMEOUT_SECONDS: z.coerce.number().min(0).max(86_400).default(30),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(1000).default(10),
  MIGRATION_DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://').optional(),
  DATABASE_URL_EU: z.string().regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://').optional(),
  DATABASE_URL_US: z.string().regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://').optional(),
  DATABASE_URL_IN: z.string().regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://').optional(),
  DEFAULT_REGION: z.enum(['eu', 'us', 'in']).optional(),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://').optional(),
  UNIQVERSE_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  SMTP_URL: z.string().regex(/^smtps?:\/\//, 'must start with smtp:// or smtps://').optional(),
  MAIL_FROM: z.string().min(3).default('UniQVerse <no-reply@localhost>'),
  LOG_LEVEL: z.enum(logLevels).default('info'),
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  TRUST_PROXY: z.enum(['true', 'false', '1', '0']).default('false').transform((v) => v === 'true' || v === '1'),
  REDIS_PREFIX: z.string().regex(/^[\w:.-]{1,64}$/, 'use letters, digits, colons, dots, dashes').default('uniqverse:'),
  KEY_REFRESH_SECONDS: z.coerce.number().int().min(1).max(3600).default(30),
  EVENT_STREAM_LENGTH: z.coerce.number().int().min(100).max(10_000_000).default(10_000),
  LIVE_MAX_PER_PERSON: z.coerce.number().int().min(1).max(10_000).default(20),
  LIVE_MAX_PER_ADDRESS: z.coerce.number().int().min(1).max(1_000_000).default(100),
  LIVE_REPLAY_MAX_EVENTS: z.coerce.number().int().min(0).max(100_000).default(500),
  LIVE_REPLAY_MAX_MINUTES: z.coerce.number().int().min(0).max(10_080).default(60),
  ENTITLEMENT_EXPIRY_SWEEP_SECONDS: z.coerce.number().min(0.1).max(3600).default(30),
  HEALTH_CHECK_INTERVAL_SECONDS: z.coerce.number().min(0.1).max(86_400).default(30),
  HEALTH_CHECK_TIMEOUT_SECONDS: z.coerce.number().min(0.1).max(60).default(5),
  DAILY_SUMMARY_TIME: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a time as HH:MM, such as 20:00').default('20:00'),
  DAILY_SUMMARY_POLL_SECONDS: z.coerce.number().min(0.1).max(3600).default(60),
  WEBHOOK_TIMEOUT_SECONDS: z.coerce.number().min(0.1).max(60).default(10),
  VAPID_PUBLIC_KEY: z.string().regex(/^[A-Za-z0-9_-]{87}$/, 'must be an uncompressed P-256 public key, base64url (87 characters), as web-push generate-vapid-keys prints it').optional(),
  VAPID_PRIVATE_KEY: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be a P-256 private key, base64url (43 characters), as web-push generate-vapid-keys prints it').optional(),
  VAPID_SUBJECT: z.string().regex(/^(mailto:\S+@\S+|https:\/\/\S+)$/, 'must be a mailto: or https: URL').optional(),
  APNS_KEY: z.string().includes('PRIVATE KEY', { message: 'must be the PEM of the .p8 key (-----BEGIN PRIVATE KEY-----…)' }).optional(),
  APNS_KEY_ID: z.string().regex(/^[A-Z0-9]{10}$/, 'must be the 10-character key id').optional(),
  APNS_TEAM_ID: z.string().regex(/^[A-Z0-9]{10}$/, 'must be the 10-character team id').optional(),
  APNS_TOPIC: z.string().regex(/^[A-Za-z0-9.-]+$/, 'must be a bundle id such as com.example.app').optional(),
  APNS_URL: z.url({ protocol: /^https$/ }).default('https://api.push.apple.com'),
  FCM_SERVICE_ACCOUNT: z.string().optional(),
  FCM_URL: z.url({ protocol: /^https$/ }).default('https://fcm.googleapis.com'),
  PUSH_CA: z.string().includes('BEGIN CERTIFICATE', { message: 'must be PEM certificates' }).optional(),
  PUSH_PRIVATE_ENDPOINTS: z.enum(['true', 'false', '1', '0']).default('false').transform((v) => v === 'true' || v === '1'),
  GATEWAY_CONNECT_TIMEOUT_SECONDS: z.coerce.number().min(0.05).max(60).default(5),
  GATEWAY_TIMEOUT_SECONDS: z.coerce.number().min(0.1).max(3600).default(30),
  GATEWAY_BODY_LIMIT_KB: z.coerce.number().int().min(1).max(1_048_576).default(10_240),
  GATEWAY_CIRCUIT_FAILURES: z.coerce.number().int().min(1).max(1000).default(5),
  GATEWAY_CIRCUIT_OPEN_SECONDS: z.coerce.number().min(0.1).max(3600).default(30),
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces').optional(),
  // The OpenTelemetry SDK reads these from the environment itself; checked here so a typo stops the start.
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  OTEL_EXPORTER_OTLP_PROTOCOL: z.enum(['http/protobuf', 'http/json', 'grpc']).optional(),
  OTEL_EXPORTER_OTLP_HEADERS: z.string().regex(/^[^=,]+=[^,]*(,[^=,]+=[^,]*)*$/, 'use key=value pairs separated by commas').optional(),
  OTEL_SERVICE_NAME: z.string().optional(),
  OTEL_RESOURCE_ATTRIBUTES: z.string().regex(/^[^=,]+=[^,]*(,[^=,]+=[^,]*)*$/, 'use key=value pairs separated by commas').optional(),
  OTEL_TRACES_SAMPLER: z.enum(['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio']).optional(),
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).optional(),
  OTEL_SDK_DISABLED: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
});

export type DatabaseTarget =
  | { kind: 'postgres'; url: string; /** DATABASE_TIMEOUT_SECONDS in ms; 0: none. */ queryTimeoutMs?: number; /** DATABASE_POOL_MAX (default 10). */ poolMax?: number }
  | { kind: 'pglite'; dir: string | null; loadDataDir?: Blob };

export const regionNames = ['eu', 'us', 'in'] as const;
export type Region = (typeof regionNames)[number];
export interface RegionTarget {
  region: Region;
  database: DatabaseTarget;
}

export interface Config {
  port: number;
  /** Hub processes asked for (WORKERS); src/app/serve.ts decides how many can run. */
  workers: number | 'auto';
  host: string;
  /** Issuer without a trailing slash; fixed once the server knows its port. */
  issuer: string;
  dataDir: string;
  database: DatabaseTarget;
  /** The schema owner's URL, for migrations; null when DATABASE_URL's role migrates. */
  migrationDatabaseUrl: string | null;
  /** Data residency: each region's database, in the order eu, us, in; empty when off (one database holds everything). */
  regions: RegionTarget[];
  /** Where people go who choose no region (null when residency is off). */
  defaultRegion: Region | null;
  redisUrl: string | null;
  redisPrefix: string;
  secret: string;
  smtpUrl: string | null;
  mailFrom: string;
  logLevel: (typeof logLevels)[number];
  production: boolean;
  /**
   * Cookies carry Secure exactly when the issuer is https://: a browser never sends a Secure
   * cookie back to an http:// site, so on one they would only break sign-in.
   */
  secureCookies: boolean;
  trustProxy: boolean;
  keyRefreshSeconds: number;
  eventStreamLength: number;
  /** Caps of live streams per instance, and how much a reconnecting one is replayed. */
  live: { maxPerPerson: number; maxPerAddress: number; replayMaxEvents: number; replayMaxMinutes: number };
  webhookTimeoutSeconds: number;
  /** How often expired entitlements are removed and announced. */
  entitlementExpirySweepSeconds: number;
  /** How often services' health URLs are asked, and how long each has to answer. */
  healthCheck: { intervalSeconds: number; timeoutSeconds: number };
  /** The daily summary mail: from what minute of a person's day (their clock) it goes, and how often instances look. */
  dailySummary: { fromMinute: number; pollSeconds: number };
  /** Push notifications: each sender is on only when configured (Web Push always, with a stored key pair when none is given). */
  push: PushConfig;
  /** /gateway/<slug>/: timeouts, the request body limit and the circuit breaker, per instance. */
  gateway: GatewayConfig;
  /** Bearer token for /metrics; null: loopback only. */
  metricsToken: string | null;
  /** An OTLP endpoint is set: the hub starts OpenTelemetry tracing (src/platform/tracing.ts). */
  tracing: boolean;
  /** Shown once at start: defaults that must change before production. */
  warnings: string[];
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface GatewayConfig {
  connectTimeoutMs: number;
  timeoutMs: number;
  bodyLimitBytes: number;
  circuitFailures: number;
  circuitOpenMs: number;
}

export interface ApnsConfig {
  key: string;
  keyId: string;
  teamId: string;
  topic: string;
  url: string;
}

export interface FcmConfig {
  projectId: string;
  clientEmail: string;
  privateKey: string;
  tokenUri: string;
  url: string;
}

export interface PushConfig {
  /** Configured VAPID pair; null: the hub's stored one. */
  vapid: { publicKey: string; privateKey: string } | null;
  vapidSubject: string;
  apns: ApnsConfig | null;
  fcm: FcmConfig | null;
  /** Extra CAs to trust for push services (PEM); null: the system's. */
  ca: string | null;
  /** Web Push endpoints on private addresses are pushed to (PUSH_PRIVATE_ENDPOINTS). */
  allowPrivateEndpoints: boolean;
}

const serviceAccountSchema = z.object({
  project_id: z.string().min(1),
  client_email: z.string().min(3),
  private_key: z.string().includes('PRIVATE KEY'),
  token_uri: z.url({ protocol: /^https$/ }).default('https://oauth2.googleapis.com/token'),
});

function pushConfig(e: z.infer<typeof envSchema>): PushConfig {
  if (Boolean(e.VAPID_PUBLIC_KEY) !== Boolean(e.VAPID_PRIVATE_KEY)) throw new ConfigError('VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY: set both or neither');
  const apnsParts = [e.APNS_KEY, e.APNS_KEY_ID, e.APNS_TEAM_ID, e.APNS_TOPIC];
  if (apnsParts.some(Boolean) && !apnsParts.every(Boolean)) throw new ConfigError('APNS_KEY, APNS_KEY_ID, APNS_TEAM_ID, APNS_TOPIC: set all four to push through APNs, or none');
  let fcm: FcmConfig | null = null;
  if (e.FCM_SERVICE_ACCOUNT) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(e.FCM_SERVICE_ACCOUNT);
    } catch {
      throw new ConfigError('FCM_SERVICE_ACCOUNT: not JSON; give the service account\'s key file (FCM_SERVICE_ACCOUNT_FILE)');
    }
    const account = serviceAccountSchema.safeParse(parsed);
    if (!account.success) throw new ConfigError(`FCM_SERVICE_ACCOUNT: ${account.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    fcm = { projectId: account.data.project_id, clientEmail: account.data.client_email, privateKey: account.data.private_key, tokenUri: account.data.token_uri, url: e.FCM_URL.replace(/\/+$/, '') };
  }
  const mailAddress = /<([^>]+)>/.exec(e.MAIL_FROM)?.[1] ?? e.MAIL_FROM.trim();
  return {
    vapid: e.VAPID_PUBLIC_KEY && e.VAPID_PRIVATE_KEY ? { publicKey: e.VAPID_PUBLIC_KEY, privateKey: e.VAPID_PRIVATE_KEY } : null,
    vapidSubject: e.VAPID_SUBJECT ?? `mailto:${mailAddress}`,
    apns: e.APNS_KEY && e.APNS_KEY_ID && e.APNS_TEAM_ID && e.APNS_TOPIC ? { key: e.APNS_KEY, keyId: e.APNS_KEY_ID, teamId: e.APNS_TEAM_ID, topic: e.APNS_TOPIC, url: e.APNS_URL.replace(/\/+$/, '') } : null,
    fcm,
    ca: e.PUSH_CA ?? null,
    allowPrivateEndpoints: e.PUSH_PRIVATE_ENDPOINTS,
  };
}

type Env = Record<string, string | undefined>;

/** NAME_FILE wins over an unset NAME, so secrets can come from mounted files. */
function withFileSecrets(env: Env): Env {
  const out: Env = { ...env };
  // Not the OTEL_* variables: the OpenTelemetry SDK reads those from the environment, not from us.
  for (const name of Object.keys(settings).filter((setting) => !setting.startsWith('OTEL_'))) {
    const file = env[`${name}_FILE`];
    if (file && !env[name]) {
      try {
        out[name] = readFileSync(file, 'utf8').trim();
      } catch (error) {
        throw new ConfigError(`${name}_FILE: cannot read ${file} (${(error as Error).message})`);
      }
    }
  }
  // An empty variable means "unset", as in most twelve-factor apps.
  for (const [key, value] of Object.entries(out)) if (value === '') delete out[key];
  return out;
}

function devSecret(dataDir: string): string {
  const file = path.join(dataDir, 'secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, secret, { mode: 0o600 });
  return secret;
}

export function loadConfig(env: Env = process.env): Config {
  const parsed = envSchema.safeParse(withFileSecrets(env));
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const e = parsed.data;
  const production = e.NODE_ENV === 'production';
  const warnings: string[] = [];
  const dataDir = path.resolve(e.DATA_DIR);

  let secret = e.UNIQVERSE_SECRET;
  if (!secret) {
    if (production) throw new ConfigError('UNIQVERSE_SECRET: required when NODE_ENV=production (or set UNIQVERSE_SECRET_FILE)');
    secret = devSecret(dataDir);
    warnings.push(`UNIQVERSE_SECRET is unset: using a generated development secret from ${path.join(dataDir, 'secret')}`);
  }

  const issuer = (e.ISSUER ?? `http://localhost:${e.PORT}`).replace(/\/+$/, '');
  const secureCookies = issuer.startsWith('https://');
  if (production && !secureCookies) warnings.push('ISSUER is not https:// in production: passwords, cookies and tokens travel unencrypted; put the hub behind TLS and set ISSUER to its https:// address');
  if (secureCookies && !e.TRUST_PROXY) warnings.push('ISSUER is https:// but TRUST_PROXY is off: the hub itself speaks plain HTTP, so behind your TLS proxy set TRUST_PROXY=true, or the browser cookies of sign-in cannot be set');
  if (production && !e.METRICS_TOKEN) warnings.push('METRICS_TOKEN is unset in production: /metrics answers only requests from this machine (127.0.0.1, ::1); set it to let a scraper elsewhere read it');
  if (e.MIGRATION_DATABASE_URL && !e.DATABASE_URL) throw new ConfigError('MIGRATION_DATABASE_URL: needs DATABASE_URL (the role the hub runs as); the embedded database has one user');
  const regions: RegionTarget[] = regionNames.flatMap((region) => {
    const url = e[`DATABASE_URL_${region.toUpperCase() as 'EU' | 'US' | 'IN'}`];
    return url ? [{ region, database: { kind: 'postgres' as const, url, queryTimeoutMs: e.DATABASE_TIMEOUT_SECONDS * 1000, poolMax: e.DATABASE_POOL_MAX } }] : [];
  });
  if (regions.length && !e.DATABASE_URL) throw new ConfigError('DATABASE_URL_EU, _US, _IN: need DATABASE_URL (the directory and the service catalogue live there)');
  if (regions.length && e.MIGRATION_DATABASE_URL) throw new ConfigError('MIGRATION_DATABASE_URL: not supported with regional databases yet; let each database\'s own role migrate it');
  const urls = [e.DATABASE_URL, ...regions.map((r) => (r.database as { url: string }).url)];
  if (new Set(urls).size !== urls.length) throw new ConfigError('DATABASE_URL_EU, _US, _IN: each region needs a database of its own, apart from DATABASE_URL and the others');
  if (e.DEFAULT_REGION && !regions.some((r) => r.region === e.DEFAULT_REGION)) throw new ConfigError(`DEFAULT_REGION: ${e.DEFAULT_REGION} has no database (set DATABASE_URL_${e.DEFAULT_REGION.toUpperCase()})`);
  if (!e.DATABASE_URL) warnings.push(`DATABASE_URL is unset: using the embedded PGlite database in ${path.join(dataDir, 'pglite')} (one process only)`);

  return {
    port: e.PORT,
    workers: e.WORKERS === 'auto' ? 'auto' : Number(e.WORKERS),
    host: e.HOST,
    issuer,
    dataDir,
    database: e.DATABASE_URL ? { kind: 'postgres', url: e.DATABASE_URL, queryTimeoutMs: e.DATABASE_TIMEOUT_SECONDS * 1000, poolMax: e.DATABASE_POOL_MAX } : { kind: 'pglite', dir: path.join(dataDir, 'pglite') },
    migrationDatabaseUrl: e.MIGRATION_DATABASE_URL ?? null,
    regions,
    defaultRegion: regions.length ? (e.DEFAULT_REGION ?? regions[0]!.region) : null,
    redisUrl: e.REDIS_URL ?? null,
    redisPrefix: e.REDIS_PREFIX,
    secret,
    smtpUrl: e.SMTP_URL ?? null,
    mailFrom: e.MAIL_FROM,
    logLevel: e.LOG_LEVEL,
    production,
    secureCookies,
    trustProxy: e.TRUST_PROXY,
    keyRefreshSeconds: e.KEY_REFRESH_SECONDS,
    eventStreamLength: e.EVENT_STREAM_LENGTH,
    live: { maxPerPerson: e.LIVE_MAX_PER_PERSON, maxPerAddress: e.LIVE_MAX_PER_ADDRESS, replayMaxEvents: e.LIVE_REPLAY_MAX_EVENTS, replayMaxMinutes: e.LIVE_REPLAY_MAX_MINUTES },
    webhookTimeoutSeconds: e.WEBHOOK_TIMEOUT_SECONDS,
    gateway: {
      connectTimeoutMs: e.GATEWAY_CONNECT_TIMEOUT_SECONDS * 1000,
      timeoutMs: e.GATEWAY_TIMEOUT_SECONDS * 1000,
      bodyLimitBytes: e.GATEWAY_BODY_LIMIT_KB * 1024,
      circuitFailures: e.GATEWAY_CIRCUIT_FAILURES,
      circuitOpenMs: e.GATEWAY_CIRCUIT_OPEN_SECONDS * 1000,
    },
    entitlementExpirySweepSeconds: e.ENTITLEMENT_EXPIRY_SWEEP_SECONDS,
    healthCheck: { intervalSeconds: e.HEALTH_CHECK_INTERVAL_SECONDS, timeoutSeconds: e.HEALTH_CHECK_TIMEOUT_SECONDS },
    dailySummary: { fromMinute: Number(e.DAILY_SUMMARY_TIME.slice(0, 2)) * 60 + Number(e.DAILY_SUMMARY_TIME.slice(3)), pollSeconds: e.DAILY_SUMMARY_POLL_SECONDS },
    push: pushConfig(e),
    metricsToken: e.METRICS_TOKEN ?? null,
    tracing: Boolean(e.OTEL_EXPORTER_OTLP_ENDPOINT ?? e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) && !e.OTEL_SDK_DISABLED,
    warnings,
  };
}
