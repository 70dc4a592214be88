import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import test from 'ava';
import * as oidc from 'openid-client';
import { createWebhook } from '../../src/events/webhooks.ts';
import { loadConfig } from '../../src/platform/config.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { tracingActive } from '../../src/platform/spans.ts';
import { testRedisUrl } from '../helpers/backend.ts';
import { callbackUrl, grant, makePerson, makeService } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { basic, closeOnce, postForm, sceneOn } from '../helpers/oidc.ts';
import { otlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver.ts';
import { UserAgent, signInThroughPages } from '../helpers/user-agent.ts';
import { eventually, webhookReceiver } from '../events/helpers.ts';

// The SDK reads its settings from the process's environment (each test file is a process of its own).
const collector = await otlpReceiver();
process.env.OTEL_EXPORTER_OTLP_ENDPOINT = collector.url;
process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'http/json';
process.env.OTEL_BSP_SCHEDULE_DELAY = '100';
const tracingEnv = { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url };
test.after.always(() => collector.close());

const server = 2;
const hex = (bytes: number) => randomBytes(bytes).toString('hex');

/** A user agent that sends one W3C trace context with every request, as a traced browser or relying party would. */
class TracedAgent extends UserAgent {
  readonly traceparent: string;

  constructor(traceparent: string) {
    super();
    this.traceparent = traceparent;
  }

  override request(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set('traceparent', this.traceparent);
    return super.request(url, { ...init, headers });
  }
}

/** Follows parent links up from `span` to the server span it happened in. */
function serverSpanOf(span: ReceivedSpan, spans: ReceivedSpan[]): ReceivedSpan | undefined {
  let current: ReceivedSpan | undefined = span;
  while (current && current.kind !== server) current = spans.find((s) => s.spanId === current!.parentSpanId);
  return current;
}

/** A log that keeps its lines as objects. */
function logLines() {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: createLogger('info', sink) };
}

// Serial tests run before the others: nothing else holds the SDK while this one stops and starts it.
test.serial('tracing stops with the last hub that uses it, and a hub started later in the same process traces again', async (t) => {
  const spanOf = async (hub: Awaited<ReturnType<typeof startTestHub>>) => {
    const traceId = hex(16);
    const response = await fetch(`${hub.url}/healthz`, { headers: { traceparent: `00-${traceId}-${hex(8)}-01` } });
    await response.body?.cancel();
    return eventually(() => collector.inTrace(traceId).find((span) => span.name === 'GET /healthz'), 10_000, 'the request span');
  };
  const first = closeOnce(await startTestHub(t, { env: tracingEnv }));
  t.true(tracingActive());
  t.truthy(await spanOf(first));
  await first.close();
  t.false(tracingActive(), 'off once its last hub closed');

  const second = await startTestHub(t, { env: tracingEnv });
  t.truthy(await spanOf(second));
});

test('a sign-in through the code flow with PKCE is one trace: route-named server spans, the provider\'s work and each SQL statement under them', async (t) => {
  const hub = await startTestHub(t, { env: tracingEnv });
  const s = await sceneOn(hub);
  const traceId = hex(16);
  const callerSpanId = hex(8);
  const agent = new TracedAgent(`00-${traceId}-${callerSpanId}-01`);

  const verifier = oidc.randomPKCECodeVerifier();
  const url = oidc.buildAuthorizationUrl(s.rp, { redirect_uri: callbackUrl, scope: 'openid email', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 'st' });
  const callback = new URL(await signInThroughPages(agent, hub.url, url.href, s.person.email, s.person.password));
  const code = callback.searchParams.get('code');
  t.truthy(code, callback.href);
  const tokens = await postForm(`${hub.url}/token`, { grant_type: 'authorization_code', code: code!, redirect_uri: callbackUrl, code_verifier: verifier }, { authorization: basic(s.client), traceparent: agent.traceparent });
  t.is(tokens.status, 200, tokens.text);

  const tokenSpan = await eventually(() => collector.inTrace(traceId).find((span) => span.name === 'POST /token'), 10_000, 'the /token span');
  const spans = collector.inTrace(traceId);
  const servers = spans.filter((span) => span.kind === server);
  const names = servers.map((span) => span.name);
  for (const name of ['GET /auth', 'GET /interaction/:uid', 'POST /interaction/:uid/login', 'GET /auth/:uid', 'POST /token']) t.true(names.includes(name), `${name} in ${names.join(', ')}`);
  // Each request continued the caller's trace, under the caller's span.
  for (const span of servers) t.is(span.parentSpanId, callerSpanId, span.name);
  t.is(tokenSpan.attributes['http.route'], '/token');
  t.is(tokenSpan.attributes['http.request.method'], 'POST');
  t.is(tokenSpan.attributes['http.response.status_code'], 200);
  t.is(tokenSpan.resource['service.name'], 'uniqverse');

  // The provider's work, named after its route, inside the request's span.
  const providerToken = spans.find((span) => span.name === 'oidc token');
  t.is(providerToken?.parentSpanId, tokenSpan.spanId);
  t.is(providerToken?.attributes['oauth.client_id'], s.client.client_id);
  t.truthy(spans.find((span) => span.name === 'oidc authorization'));

  // Each SQL statement is a client span in the request that ran it; the password check reads the person's row.
  const statements = spans.filter((span) => span.attributes['db.system'] === 'postgresql');
  t.true(statements.length > 5, `${statements.length} SQL spans`);
  for (const span of statements) t.truthy(serverSpanOf(span, spans), `${span.name} belongs to a request`);
  const login = servers.find((span) => span.name === 'POST /interaction/:uid/login')!;
  const loginStatements = statements.filter((span) => serverSpanOf(span, spans) === login);
  t.true(loginStatements.some((span) => span.attributes['db.sql.table'] === 'users'), loginStatements.map((span) => span.name).join(', '));
  const tokenStatements = statements.filter((span) => serverSpanOf(span, spans) === tokenSpan);
  // The code is consumed by a batched statement sent past knex's builder (src/db/direct-statement.ts).
  t.true(tokenStatements.some((span) => span.name === 'UPDATE oidc_models'), tokenStatements.map((span) => span.name).join(', '));
  // Statements are recorded with their placeholders: no value a person typed reaches the collector.
  for (const span of spans) {
    const values = JSON.stringify(span.attributes);
    t.false(values.includes(s.person.email), span.name);
    t.false(values.includes(s.person.password), span.name);
    t.false(values.includes(code!), span.name);
  }
  if (testRedisUrl) {
    // The rate limiters' Redis commands in the login request.
    const redis = spans.filter((span) => span.attributes['db.system'] === 'redis');
    t.true(redis.some((span) => serverSpanOf(span, spans) === login), redis.map((span) => span.name).join(', '));
  }
});

test('a request with a traceparent continues the caller\'s trace; without one, or with a malformed one, it starts its own', async (t) => {
  const hub = await startTestHub(t, { env: tracingEnv });
  const traceId = hex(16);
  const callerSpanId = hex(8);
  const incoming = await fetch(`${hub.url}/healthz`, { headers: { traceparent: `00-${traceId}-${callerSpanId}-01` } });
  await incoming.body?.cancel();
  const continued = await eventually(() => collector.inTrace(traceId).find((span) => span.kind === server), 10_000, 'the continued span');
  t.is(continued.name, 'GET /healthz');
  t.is(continued.parentSpanId, callerSpanId);

  const before = new Set(collector.spans.map((span) => span.traceId));
  // A malformed traceparent is ignored, as if there were none.
  const fresh = await fetch(`${hub.url}/.well-known/openid-configuration?fresh=${hex(4)}`, { headers: { traceparent: '00-not-a-trace-01' } });
  t.is(fresh.status, 200);
  const own = await eventually(() => collector.spans.find((span) => span.kind === server && span.attributes['url.path'] === '/.well-known/openid-configuration' && !before.has(span.traceId)), 10_000, 'a new trace');
  t.is(own.parentSpanId, undefined);
  t.is(own.name, 'GET /.well-known/openid-configuration');
  t.false(JSON.stringify(own.attributes).includes('fresh='), 'the query string is left out');

  // Asked again, discovery comes from the hub's cache, past the provider: the span still has its route.
  const cachedTrace = hex(16);
  const again = await fetch(`${hub.url}/.well-known/openid-configuration`, { headers: { traceparent: `00-${cachedTrace}-${hex(8)}-01` } });
  await again.body?.cancel();
  const cached = await eventually(() => collector.inTrace(cachedTrace).find((span) => span.kind === server), 10_000, 'the cached answer\'s span');
  t.is(cached.name, 'GET /.well-known/openid-configuration');
  t.false(collector.inTrace(cachedTrace).some((span) => span.name.startsWith('oidc')), 'answered without the provider');
});

test('each webhook attempt is a trace of its own, its traceparent reaches the receiver, and the log lines of the attempt carry its trace id', async (t) => {
  const { lines, logger } = logLines();
  const hub = await startTestHub(t, { env: tracingEnv, logger });
  await makeService(hub, 'vezepygame');
  const receiver = await webhookReceiver((_request, index) => (index === 0 ? 500 : 204));
  t.teardown(() => receiver.close());
  await createWebhook(hub.db, hub.events.webhookBox, { service: 'vezepygame', url: receiver.url });
  const player = await makePerson(hub);
  await grant(hub, player.email, 'vezepygame', 'basic');

  await eventually(() => receiver.received.length >= 2, 20_000, 'a failed attempt and a delivered one');
  const parents = receiver.received.slice(0, 2).map((request) => /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(String(request.headers.traceparent)));
  t.truthy(parents[0] && parents[1], JSON.stringify(receiver.received.map((r) => r.headers.traceparent)));
  const [first, second] = parents as [RegExpExecArray, RegExpExecArray];
  t.not(first[1], second[1], 'one trace per attempt');
  for (const [, traceId, spanId] of [first, second]) {
    const attempt = await eventually(() => collector.inTrace(traceId!).find((span) => span.spanId === spanId), 10_000, 'the attempt span');
    t.is(attempt.name, 'webhook POST');
    t.is(attempt.parentSpanId, undefined);
    t.is(attempt.attributes['server.address'], '127.0.0.1');
    // Recording the outcome is a statement of the attempt's.
    await eventually(() => collector.inTrace(traceId!).find((span) => span.parentSpanId === spanId && span.attributes['db.system'] === 'postgresql'), 10_000, 'the outcome recorded');
  }
  const failed = collector.inTrace(first[1]!).find((span) => span.spanId === first[2])!;
  t.is(failed.attributes['http.response.status_code'], 500);
  t.is(failed.status?.code, 2);
  const logged = lines.find((line) => line.msg === 'webhook delivery failed; will retry');
  t.is(logged?.trace_id, first[1]);
  t.is(logged?.span_id, first[2]);

  // The relay's batch that queued the delivery, with its statements under it.
  const relay = await eventually(() => collector.spans.find((span) => span.name === 'relay publish' && span.attributes['messaging.batch.message_count'] !== undefined), 10_000, 'a relay span');
  t.is(relay.parentSpanId, undefined);
  t.true(collector.inTrace(relay.traceId).some((span) => span.parentSpanId === relay.spanId && span.attributes['db.system'] === 'postgresql'));
  // The batch goes to the stream in one script call (src/events/redis-bus.ts: many XADDs per EVALSHA).
  if (testRedisUrl) t.true(collector.inTrace(relay.traceId).some((span) => span.parentSpanId === relay.spanId && ['evalsha', 'eval'].includes(span.name)), collector.inTrace(relay.traceId).map((span) => span.name).join(', '));
});

test('tracing is on exactly when an OTLP endpoint is set and the SDK is not disabled; a bad endpoint is refused by name', (t) => {
  const base = { UNIQVERSE_SECRET: 'x'.repeat(32) };
  t.false(loadConfig(base).tracing);
  t.true(loadConfig({ ...base, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).tracing);
  t.true(loadConfig({ ...base, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }).tracing);
  t.false(loadConfig({ ...base, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' }).tracing);
  t.throws(() => loadConfig({ ...base, OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }), { message: /OTEL_EXPORTER_OTLP_ENDPOINT/ });
  t.throws(() => loadConfig({ ...base, OTEL_TRACES_SAMPLER: 'sometimes' }), { message: /OTEL_TRACES_SAMPLER/ });
});
