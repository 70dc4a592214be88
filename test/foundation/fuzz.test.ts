import test from 'ava';
import fc from 'fast-check';
import type { Hub } from '../../src/app/start.ts';
import { makeClient, makePerson, makeService } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { basic } from '../helpers/oidc.ts';
import { personToken } from '../events/helpers.ts';
import { csrfTokenOf, signedInAgent } from '../portal/portal-helpers.ts';

/**
 * Generated requests over every route and method of a running hub: the hub's own routes come from
 * its Koa routers (hub.routes), the provider's from its discovery document, so a new route is
 * fuzzed without editing this file. Every answer must be under 500, come within the timeout, and
 * carry no stack trace or source path. Seeded (FUZZ_SEED to replay a run, FUZZ_RUNS for more).
 */
const seed = Number(process.env.FUZZ_SEED ?? 20_261_206);
const runs = Number(process.env.FUZZ_RUNS ?? 10_000);
const concurrency = 6;
const timeoutMs = 15_000;

interface Route {
  methods: string[];
  path: string;
}

async function providerRoutes(hub: Hub): Promise<Route[]> {
  const discovery = (await (await fetch(`${hub.url}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
  const paths = new Set(['/.well-known/openid-configuration', new URL(hub.holder.current.urlFor('code_verification')).pathname]);
  for (const [key, value] of Object.entries(discovery)) {
    if ((key.endsWith('_endpoint') || key === 'jwks_uri') && typeof value === 'string' && value.startsWith(hub.url)) paths.add(new URL(value).pathname);
  }
  // The provider's routes with a parameter: the device and authorization resumes.
  paths.add('/device/:uid');
  paths.add('/auth/:uid');
  return [...paths].map((path) => ({ methods: ['GET', 'POST'], path }));
}

const hostile = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', '', ' ', '\u0000', '\ud800', '%', '%zz', '%00', '..', '../..', '/', 'null', 'undefined', 'NaN', '-1', '0', '1e309', 'true', '[]', '{}', '<script>', "' or 1=1 --", 'a'.repeat(5000)),
  fc.integer().map(String),
  fc.uuid(),
);

const paramKeys = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', '__proto__[x]', 'constructor[prototype][x]', 'a[]', 'a[b]', '', 'client_id', 'redirect_uri', 'response_type', 'scope', 'state', 'nonce', 'code', 'grant_type', 'token', 'refresh_token', 'user_code', 'xsrf', 'since', 'all', 'email', 'password', 'name', 'code_challenge', 'resource', 'prompt', 'id_token_hint', 'login_hint', 'request', 'request_uri', 'kind', 'tier', 'service', 'page', 'q', 'totp'),
  fc.string({ maxLength: 12 }),
);

const pairs = fc.array(fc.tuple(paramKeys, hostile), { maxLength: 6 });

const body = fc.oneof(
  fc.constant<[string | undefined, string | undefined]>([undefined, undefined]),
  pairs.map((p): [string, string] => ['application/x-www-form-urlencoded', new URLSearchParams(p).toString()]),
  fc.jsonValue({ maxDepth: 3 }).map((v): [string, string] => ['application/json', JSON.stringify(v) ?? 'null']),
  fc.dictionary(paramKeys, hostile, { maxKeys: 5 }).map((d): [string, string] => ['application/json', JSON.stringify(d)]),
  fc.constantFrom<[string, string]>(
    ['application/json', '{"__proto__":{"admin":true},"constructor":{"prototype":{"x":1}}}'],
    ['application/json', '{"a":'],
    ['application/json', '"\\ud800"'],
    ['application/json', '{"name":"\\u0000"}'],
    ['application/json; charset=utf-16', '{}'],
    ['application/x-www-form-urlencoded', '%'],
    ['application/x-www-form-urlencoded', 'a=%zz&a=1&a=2'],
    ['multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\nb\r\n--x--'],
    ['multipart/form-data', 'garbage'],
    ['text/plain', 'hello'],
    ['application/xml', '<a/>'],
    ['', 'x'],
    ['application/x-www-form-urlencoded', `name=${'x'.repeat(300_000)}`],
  ),
  fc.tuple(fc.string({ maxLength: 30 }), fc.string({ unit: 'binary', maxLength: 200 })).map(([type, text]): [string, string] => [type, text]),
);

type Auth = 'none' | 'session' | 'session-no-csrf' | 'bearer' | 'bad-bearer' | 'basic' | 'bad-basic' | 'garbage-cookie' | 'dpop';

const request = (routes: Route[]) =>
  fc.record({
    route: fc.constantFrom(...routes),
    method: fc.oneof({ weight: 4, arbitrary: fc.constant('route') }, { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD') }),
    params: fc.array(fc.oneof(hostile, fc.constantFrom('me', 'current', 'x')), { minLength: 4, maxLength: 4 }),
    pick: fc.nat(),
    trailingSlash: fc.boolean(),
    upperCase: fc.boolean(),
    query: fc.oneof(fc.constant(''), pairs.map((p) => new URLSearchParams(p).toString()), fc.constantFrom('%', '%zz', 'a=%00', '&&&', '=', 'a[b][c][d][e]=1', '__proto__[x]=1', `q=${'y'.repeat(20_000)}`)),
    body,
    auth: fc.constantFrom<Auth>('none', 'session', 'session', 'session-no-csrf', 'bearer', 'bearer', 'bad-bearer', 'basic', 'bad-basic', 'garbage-cookie', 'dpop'),
    accept: fc.constantFrom(undefined, 'application/json', 'text/html', '*/*', 'application/problem+json', 'image/png', 'text/event-stream'),
    htmx: fc.boolean(),
  });

interface Credentials {
  cookie: string;
  csrf: string;
  bearer: string;
  basic: string;
}

/** encodeURIComponent throws on a lone surrogate; Buffer turns one into U+FFFD, as a client would send it. */
const encode = (value: string) => encodeURIComponent(Buffer.from(value).toString());

function fill(path: string, params: string[], r: { trailingSlash: boolean; upperCase: boolean }): string {
  let index = 0;
  let filled = path.replace(/:(\w+)/g, () => encode(params[index++ % params.length]!));
  if (r.upperCase) filled = filled.toUpperCase();
  if (r.trailingSlash && !filled.endsWith('/')) filled += '/';
  return filled;
}

test('fuzz: generated requests over every route and method never get a 5xx, a hang or a stack trace', async (t) => {
  t.timeout(300_000);
  const hub = await startTestHub(t);
  const person = await makePerson(hub);
  const service = await makeService(hub);
  const client = await makeClient(hub, { service: service.slug });
  const agent = await signedInAgent(hub, person);
  const credentials: Credentials = {
    cookie: agent.cookieHeader(),
    csrf: await csrfTokenOf(agent, hub),
    bearer: await personToken(hub, person, service.slug),
    basic: basic(client),
  };
  const routes = [...hub.routes, ...(await providerRoutes(hub))];
  t.true(hub.routes.length > 30, 'the routers were read');
  const requests = fc.sample(request(routes), { seed, numRuns: runs });

  const failures: string[] = [];
  const statuses = new Map<number, number>();
  let sent = 0;
  const spent = new Map<string, number>();
  // Requests that got past the sign-in or the bearer check: the handlers behind them were fuzzed too.
  const reached = { session: 0, bearer: 0 };
  let reminting: Promise<void> | null = null;
  let reminted = 0;
  const started = Date.now();

  async function send(r: (typeof requests)[number]) {
    const method = r.method === 'route' ? r.route.methods[r.pick % r.route.methods.length]! : r.method;
    const path = fill(r.route.path, r.params, r);
    // A long-poll waits up to 25 s for an event by design: asked not to wait, it answers at once
    // (a fuzzed `wait` of its own makes two, a 400).
    const query = /^\/hub\/events\/poll\/?$/i.test(path) ? (r.query ? `${r.query}&wait=0` : 'wait=0') : r.query;
    const url = `${hub.url}${path}${query ? `?${query}` : ''}`;
    const headers: Record<string, string> = {};
    const type = r.body[0];
    // Node's fetch keeps connections alive (its global dispatcher); a GET or HEAD may carry no body there.
    let payload = method === 'GET' || method === 'HEAD' ? undefined : r.body[1];
    if (type !== undefined && payload !== undefined) headers['content-type'] = type;
    if (r.accept) headers.accept = r.accept;
    if (r.htmx) headers['hx-request'] = 'true';
    switch (r.auth) {
      case 'session':
        headers.cookie = credentials.cookie;
        headers['x-csrf-token'] = credentials.csrf;
        if (payload !== undefined && type === 'application/x-www-form-urlencoded') payload += `&_csrf=${encodeURIComponent(credentials.csrf)}`;
        break;
      case 'session-no-csrf':
        headers.cookie = credentials.cookie;
        break;
      case 'bearer':
        headers.authorization = `Bearer ${credentials.bearer}`;
        break;
      case 'bad-bearer':
        headers.authorization = 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.';
        break;
      case 'basic':
        headers.authorization = credentials.basic;
        break;
      case 'bad-basic':
        headers.authorization = 'Basic %%%';
        break;
      case 'garbage-cookie':
        headers.cookie = '_session=x; _session.sig=y; _interaction=%; __proto__=1; =; ;;';
        break;
      case 'dpop':
        headers.authorization = `DPoP ${credentials.bearer}`;
        headers.dpop = 'not.a.jwt';
        break;
    }
    const begun = Date.now();
    const label = `${method} ${url.slice(hub.url.length, hub.url.length + 120)} [${r.auth}, ${type ?? 'no body'}]`;
    try {
      const response = await fetch(url, { method, headers, body: payload, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      if (response.status === 200 && r.auth === 'session' && /^\/(account|admin)/.test(path)) reached.session++;
      if (response.status === 200 && r.auth === 'bearer' && /^\/(hub|api)\//.test(path)) reached.bearer++;
      // A fuzzed "sign out everywhere" or device removal ends the token's grant, as it should: the
      // hub gives a new person a token, so that the handlers behind the bearer check go on being fuzzed.
      if (response.status === 401 && r.auth === 'bearer' && /^\/hub\//.test(path) && headers.authorization === `Bearer ${credentials.bearer}`) {
        // Someone new: the fuzz may have spent the first person's password budget meanwhile.
        reminting ??= makePerson(hub).then((fresh) => personToken(hub, fresh, service.slug)).then((token) => {
          credentials.bearer = token;
          reminted++;
          reminting = null;
        });
        await reminting;
      }
      // A live stream stays open by design: its headers are the answer.
      const text = (response.headers.get('content-type') ?? '').startsWith('text/event-stream') ? (await response.body?.cancel(), '') : await response.text();
      if (response.status >= 500) failures.push(`${label} → ${response.status} ${text.slice(0, 200)}`);
      else if (/\n\s+at [^\n]*(\(|file:|node:)|\/src\/\w|node_modules\//.test(text)) failures.push(`${label} → ${response.status} shows a stack trace or a path: ${text.slice(0, 200)}`);
    } catch (error) {
      failures.push(`${label} → ${(error as Error).name === 'TimeoutError' ? `no answer in ${timeoutMs} ms` : (error as Error).message}`);
    }
    sent++;
    const key = `${method} ${r.route.path}`;
    spent.set(key, (spent.get(key) ?? 0) + Date.now() - begun);
  }

  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests.length) await send(requests[next++]!);
    }),
  );
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  t.log(`${sent} requests over ${routes.length} routes in ${seconds} s (seed ${seed}); signed in and answered 200: ${reached.session} by session, ${reached.bearer} by bearer (the token made again ${reminted} times after its grant ended); statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}`);
  if (process.env.FUZZ_PROFILE) t.log([...spent].sort((a, b) => b[1] - a[1]).slice(0, 15));
  t.is(sent, runs);
  t.true(reached.session > 0 && reached.bearer > 0, 'signed-in requests reached their handlers');
  t.deepEqual(failures.slice(0, 25), [], `${failures.length} bad answers`);
});
