import test, { type ExecutionContext } from 'ava';
import * as oidc from 'openid-client';
import { callbackUrl } from '../helpers/fixtures.ts';
import { basic, scene } from '../helpers/oidc.ts';
import { UserAgent } from '../helpers/user-agent.ts';

interface Probe {
  what: string;
  path: string;
  init?: RequestInit;
}

/** Sends each probe and checks it is answered with a 4xx (never a 5xx, never a hang); returns the answers. */
async function expect4xx(t: ExecutionContext, base: string, probes: Probe[]) {
  const answers = [];
  for (const probe of probes) {
    const response = await fetch(`${base}${probe.path}`, { redirect: 'manual', signal: AbortSignal.timeout(15_000), ...probe.init });
    const body = await response.text();
    t.true(response.status >= 400 && response.status < 500, `${probe.what}: ${response.status} ${body.slice(0, 200)}`);
    answers.push({ probe, status: response.status, body, type: response.headers.get('content-type') ?? '' });
  }
  return answers;
}

const form = (fields: Record<string, string>, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  body: new URLSearchParams(fields),
  headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
});

test.serial('/token: no body, JSON, wrong content type, huge parameter, unknown grant type, bad auth all get 4xx', async (t) => {
  const { hub, client } = await scene(t);
  const auth = { authorization: basic(client) };
  const answers = await expect4xx(t, hub.url, [
    { what: 'no body', path: '/token', init: { method: 'POST', headers: auth } },
    { what: 'empty form', path: '/token', init: form({}, auth) },
    { what: 'JSON body', path: '/token', init: { method: 'POST', body: JSON.stringify({ grant_type: 'client_credentials' }), headers: { ...auth, 'content-type': 'application/json' } } },
    { what: 'broken JSON body', path: '/token', init: { method: 'POST', body: '{"grant_type":', headers: { ...auth, 'content-type': 'application/json' } } },
    { what: 'text/plain', path: '/token', init: { method: 'POST', body: 'grant_type=client_credentials', headers: { ...auth, 'content-type': 'text/plain' } } },
    { what: 'multipart', path: '/token', init: { method: 'POST', body: (() => { const f = new FormData(); f.set('grant_type', 'client_credentials'); return f; })(), headers: auth } },
    { what: 'huge parameter', path: '/token', init: form({ grant_type: 'authorization_code', code: 'x'.repeat(2_000_000), redirect_uri: callbackUrl }, auth) },
    { what: 'huge scope', path: '/token', init: form({ grant_type: 'client_credentials', scope: 'read '.repeat(100_000) }, auth) },
    { what: 'unknown grant_type', path: '/token', init: form({ grant_type: 'urn:example:nope' }, auth) },
    { what: 'implicit as grant_type', path: '/token', init: form({ grant_type: 'implicit' }, auth) },
    { what: 'password grant', path: '/token', init: form({ grant_type: 'password', username: 'a', password: 'b' }, auth) },
    { what: 'duplicated grant_type', path: '/token', init: { method: 'POST', body: 'grant_type=client_credentials&grant_type=refresh_token', headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' } } },
    { what: 'percent garbage', path: '/token', init: { method: 'POST', body: 'grant_type=%E0%A4%A&code=%', headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' } } },
    { what: 'no client authentication', path: '/token', init: form({ grant_type: 'client_credentials' }) },
    { what: 'garbage basic auth', path: '/token', init: form({ grant_type: 'client_credentials' }, { authorization: 'Basic %%%not-base64' }) },
    { what: 'basic auth without colon', path: '/token', init: form({ grant_type: 'client_credentials' }, { authorization: `Basic ${Buffer.from('justaname').toString('base64')}` }) },
    { what: 'wrong client secret', path: '/token', init: form({ grant_type: 'client_credentials' }, { authorization: basic({ client_id: client.client_id, client_secret: 'wrong' }) }) },
    { what: 'unknown refresh token', path: '/token', init: form({ grant_type: 'refresh_token', refresh_token: 'nope' }, auth) },
    { what: 'refresh token that is a JWT', path: '/token', init: form({ grant_type: 'refresh_token', refresh_token: 'eyJhbGciOiJub25lIn0.e30.' }, auth) },
  ]);
  for (const answer of answers) {
    t.regex(answer.type, /json/, `${answer.probe.what} answers in JSON`);
    t.truthy((JSON.parse(answer.body) as { error?: string }).error, answer.probe.what);
  }
  const byWhat = new Map(answers.map((a) => [a.probe.what, a]));
  t.is(JSON.parse(byWhat.get('unknown grant_type')!.body).error, 'unsupported_grant_type');
  t.is(JSON.parse(byWhat.get('implicit as grant_type')!.body).error, 'unsupported_grant_type');
  t.is(byWhat.get('no client authentication')!.status, 400);
  t.is(byWhat.get('wrong client secret')!.status, 401);

  // The wrong method on the token endpoint is a 404, as a page or as JSON.
  const get = await fetch(`${hub.url}/token?grant_type=client_credentials`, { headers: { ...auth, accept: 'application/json' } });
  t.is(get.status, 404);
  t.is(((await get.json()) as { error: string }).error, 'not_found');
});

test.serial('/auth: missing and duplicated parameters get our error page with a 4xx and no redirect', async (t) => {
  const { hub, client } = await scene(t);
  const challenge = await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier());
  const good = { client_id: client.client_id, response_type: 'code', scope: 'openid', redirect_uri: callbackUrl, code_challenge: challenge, code_challenge_method: 'S256' };
  const query = (params: Record<string, string>, extra = '') => `/auth?${new URLSearchParams(params).toString()}${extra}`;
  const without = (name: keyof typeof good) => Object.fromEntries(Object.entries(good).filter(([k]) => k !== name));
  const browser = { headers: { accept: 'text/html' } };
  const answers = await expect4xx(t, hub.url, [
    { what: 'no parameters', path: '/auth', init: browser },
    { what: 'no client_id', path: query(without('client_id')), init: browser },
    { what: 'unknown client_id', path: query({ ...good, client_id: 'nobody' }), init: browser },
    { what: 'huge client_id', path: query({ ...good, client_id: 'x'.repeat(6000) }), init: browser },
    { what: 'duplicated client_id', path: query(good, `&client_id=${client.client_id}`), init: browser },
    { what: 'percent garbage', path: '/auth?client_id=%E0%A4%A&redirect_uri=%', init: browser },
    { what: 'POST with a JSON body', path: '/auth', init: { method: 'POST', body: JSON.stringify(good), headers: { 'content-type': 'application/json', accept: 'text/html' } } },
  ]);
  for (const answer of answers) t.regex(answer.type, /text\/html/, answer.probe.what);

  // Parameters checked after the redirect URI is known to be the client's go back to the client, never elsewhere.
  const duplicated = await fetch(`${hub.url}${query(good, `&redirect_uri=${encodeURIComponent('https://evil.test/')}`)}`, { redirect: 'manual' });
  t.is(duplicated.status, 303);
  const refused = new URL(duplicated.headers.get('location')!);
  t.true(refused.href.startsWith(callbackUrl), 'a duplicated redirect_uri never sends anyone to the second one');
  t.is(refused.searchParams.get('error'), 'invalid_request');
  for (const params of [without('response_type'), { ...good, response_type: 'token' }, { ...good, response_type: 'code', scope: '' }, { ...good, prompt: 'bogus' }]) {
    const response = await fetch(`${hub.url}${query(params)}`, { redirect: 'manual' });
    t.true(response.status < 500, `${JSON.stringify(params)}: ${response.status}`);
    const location = response.headers.get('location');
    if (location) t.true(location.startsWith(callbackUrl) || location.startsWith('/interaction/'), location);
  }
});

test.serial('/me, /token/introspection, /token/revocation and /device/auth without proper credentials get 4xx', async (t) => {
  const { hub, client } = await scene(t);
  const answers = await expect4xx(t, hub.url, [
    { what: 'garbage bearer', path: '/me', init: { headers: { authorization: 'Bearer garbage' } } },
    { what: 'JWT-looking bearer', path: '/me', init: { headers: { authorization: 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.' } } },
    { what: 'huge bearer', path: '/me', init: { headers: { authorization: `Bearer ${'a'.repeat(7000)}` } } },
    { what: 'no token', path: '/me' },
    { what: 'two tokens', path: '/me?access_token=x', init: { headers: { authorization: 'Bearer y' } } },
    { what: 'basic instead of bearer', path: '/me', init: { headers: { authorization: basic(client) } } },
    { what: 'introspection without auth', path: '/token/introspection', init: form({ token: 'x' }) },
    { what: 'introspection with a wrong secret', path: '/token/introspection', init: form({ token: 'x' }, { authorization: basic({ client_id: client.client_id, client_secret: 'nope' }) }) },
    { what: 'introspection without a token', path: '/token/introspection', init: form({}, { authorization: basic(client) }) },
    { what: 'introspection with JSON', path: '/token/introspection', init: { method: 'POST', body: '{"token":"x"}', headers: { authorization: basic(client), 'content-type': 'application/json' } } },
    { what: 'revocation without auth', path: '/token/revocation', init: form({ token: 'x' }) },
    { what: 'revocation with an unknown client', path: '/token/revocation', init: form({ token: 'x', client_id: 'nobody' }) },
    { what: 'revocation without a token', path: '/token/revocation', init: form({}, { authorization: basic(client) }) },
    { what: 'device auth with an unknown client', path: '/device/auth', init: form({ client_id: 'nobody', scope: 'openid' }) },
    { what: 'device auth without a client', path: '/device/auth', init: form({ scope: 'openid' }) },
    { what: 'device auth by a web client', path: '/device/auth', init: form({ scope: 'openid' }, { authorization: basic(client) }) },
    { what: 'PAR without auth', path: '/request', init: form({ client_id: client.client_id, response_type: 'code' }) },
    { what: 'end session with a garbage id_token_hint', path: '/session/end?id_token_hint=garbage', init: { headers: { accept: 'text/html' } } },
  ]);
  const byWhat = new Map(answers.map((a) => [a.probe.what, a]));
  t.is(byWhat.get('garbage bearer')!.status, 401);
  for (const what of ['introspection without auth', 'revocation without auth', 'device auth without a client']) {
    t.is(JSON.parse(byWhat.get(what)!.body).error, 'invalid_request', what);
  }
  t.is(JSON.parse(byWhat.get('introspection with a wrong secret')!.body).error, 'invalid_client');
  t.is(byWhat.get('device auth with an unknown client')!.status, 401);
});

test.serial('interaction routes: unknown uid, no cookie, bad form bodies get 4xx pages', async (t) => {
  const { hub, rp } = await scene(t);
  const browser = { accept: 'text/html' };
  await expect4xx(t, hub.url, [
    { what: 'unknown uid', path: '/interaction/unknown-uid', init: { headers: browser } },
    { what: 'GET on the login action', path: '/interaction/x/login', init: { headers: browser } },
    { what: 'login without a cookie', path: '/interaction/x/login', init: { ...form({ email: 'a@example.test', password: 'x' }), headers: { ...browser, 'content-type': 'application/x-www-form-urlencoded' } } },
    { what: 'confirm without a cookie', path: '/interaction/x/confirm', init: { method: 'POST', headers: browser } },
    { what: 'abort without a cookie', path: '/interaction/x/abort', init: { method: 'POST', headers: browser } },
    { what: 'forged cookie', path: '/interaction/x', init: { headers: { ...browser, cookie: '_interaction=x; _interaction.sig=y' } } },
  ]);

  // With a real interaction under way, bad bodies at its login action are refused without a 500.
  const agent = new UserAgent();
  const url = oidc.buildAuthorizationUrl(rp, {
    redirect_uri: callbackUrl,
    scope: 'openid',
    code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
  });
  const { url: loginPage } = await agent.follow(url.href, hub.url);
  const uid = /\/interaction\/([\w-]+)/.exec(loginPage)![1]!;
  const action = `${hub.url}/interaction/${uid}/login`;
  const bodies: Array<[string, RequestInit]> = [
    ['empty form', { method: 'POST', body: '', headers: { 'content-type': 'application/x-www-form-urlencoded' } }],
    ['no content type', { method: 'POST', body: 'email=a@example.test&password=x' }],
    ['JSON', { method: 'POST', body: '{"email":"a@example.test","password":"x"}', headers: { 'content-type': 'application/json' } }],
    ['broken urlencoding', { method: 'POST', body: 'email=%E0%A4%A&password=%', headers: { 'content-type': 'application/x-www-form-urlencoded' } }],
    ['array fields', { method: 'POST', body: 'email=a@example.test&email=b@example.test&password[x]=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } }],
    ['huge body', { method: 'POST', body: `email=a@example.test&password=${'x'.repeat(200_000)}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } }],
    ['wrong password', { method: 'POST', body: 'email=nobody@example.test&password=wrong', headers: { 'content-type': 'application/x-www-form-urlencoded' } }],
  ];
  for (const [what, init] of bodies) {
    const response = await agent.request(action, { ...init, headers: { accept: 'text/html', ...(init.headers as Record<string, string>) } });
    t.true(response.status >= 400 && response.status < 500, `${what}: ${response.status}`);
    t.regex(response.headers.get('content-type') ?? '', /text\/html/, what);
  }
  // The interaction is still usable afterwards.
  const page = await agent.request(`${hub.url}/interaction/${uid}`);
  t.is(page.status, 200);
});

test.serial('/jwks with stray parameters still answers, and an unknown path gets our 404 page', async (t) => {
  const hub = (await scene(t)).hub;
  const jwks = await fetch(`${hub.url}/jwks?x=${'y'.repeat(3000)}&alg=none`);
  t.is(jwks.status, 200);
  t.true(Array.isArray(((await jwks.json()) as { keys: unknown[] }).keys));
  const post = await fetch(`${hub.url}/jwks`, { method: 'POST', body: 'x' });
  t.true(post.status >= 400 && post.status < 500, `POST /jwks: ${post.status}`);

  for (const path of ['/no-such-page', '/.well-known/nothing', '/interaction', '/static/../../etc/passwd', '/%E0%A4%A']) {
    const response = await fetch(`${hub.url}${path}`, { headers: { accept: 'text/html' }, redirect: 'manual' });
    t.true(response.status === 404 || response.status === 400, `${path}: ${response.status}`);
    t.regex(response.headers.get('content-type') ?? '', /text\/html/, path);
  }
  const missing = await fetch(`${hub.url}/no-such-page`, { headers: { accept: 'text/html' } });
  t.is(missing.status, 404);
  t.regex(await missing.text(), /Page not found/);
});

test.serial('a NUL character (U+0000) in any parameter is refused with a 4xx or an OAuth error, never a 500', async (t) => {
  const { hub, client, rp } = await scene(t);
  const auth = { authorization: basic(client) };
  const nul = 'a\u0000b';
  const challenge = await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier());
  const authorize = (extra: Record<string, string>) =>
    `/auth?${new URLSearchParams({ client_id: client.client_id, response_type: 'code', redirect_uri: callbackUrl, scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256', ...extra })}`;

  // Once the client and its redirect URI are known good, the provider answers the client: a redirect carrying invalid_request.
  for (const name of ['state', 'nonce', 'login_hint', 'ui_locales', 'acr_values']) {
    const response = await fetch(`${hub.url}${authorize({ [name]: nul })}`, { redirect: 'manual' });
    t.is(response.status, 303, name);
    t.is(new URL(response.headers.get('location') ?? '', hub.url).searchParams.get('error'), 'invalid_request', name);
  }
  await expect4xx(t, hub.url, [
    { what: '/auth client_id', path: `/auth?client_id=${encodeURIComponent(nul)}&response_type=code`, init: { headers: { accept: 'text/html' } } },
    { what: '/token code', path: '/token', init: form({ grant_type: 'authorization_code', code: nul, redirect_uri: callbackUrl, code_verifier: 'x'.repeat(43) }, auth) },
    { what: '/token refresh_token', path: '/token', init: form({ grant_type: 'refresh_token', refresh_token: nul }, auth) },
    { what: '/token resource', path: '/token', init: form({ grant_type: 'client_credentials', resource: `urn:veze:service:${nul}` }, auth) },
    { what: '/token client_id', path: '/token', init: form({ grant_type: 'client_credentials', client_id: nul, client_secret: 'x' }) },
    { what: '/device/auth client_id', path: '/device/auth', init: form({ client_id: nul }) },
    { what: '/request state', path: '/request', init: form({ response_type: 'code', redirect_uri: callbackUrl, scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256', state: nul }, auth) },
    { what: '/me bearer', path: '/me', init: { headers: { authorization: 'Bearer a%00b' } } },
  ]);
  const revoked = await fetch(`${hub.url}/token/revocation`, form({ token: nul }, auth));
  t.true(revoked.status < 500, `/token/revocation: ${revoked.status}`);
  const introspected = await fetch(`${hub.url}/token/introspection`, form({ token: nul }, auth));
  t.is(introspected.status, 200);
  t.false(((await introspected.json()) as { active: boolean }).active, 'no token is active for it');

  // Pages of our own: the device code page, the login form of a real interaction.
  const device = await fetch(`${hub.url}/device?user_code=${encodeURIComponent(nul)}`, { headers: { accept: 'text/html' } });
  t.true(device.status < 500, `/device: ${device.status}`);
  const agent = new UserAgent();
  const { url: loginPage } = await agent.follow(oidc.buildAuthorizationUrl(rp, { redirect_uri: callbackUrl, scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256' }).href, hub.url);
  const uid = /\/interaction\/([\w-]+)/.exec(loginPage)![1]!;
  for (const [what, fields] of [
    ['email', { email: `${nul}@example.test`, password: 'x' }],
    ['password', { email: 'a@example.test', password: nul }],
  ] as const) {
    const response = await agent.request(`${hub.url}/interaction/${uid}/login`, { method: 'POST', body: new URLSearchParams(fields), headers: { accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded' } });
    t.true(response.status >= 400 && response.status < 500, `login ${what}: ${response.status}`);
  }
  for (const path of [`/reset/${encodeURIComponent(nul)}`, `/verify-email?token=${encodeURIComponent(nul)}`, `/signup?email=${encodeURIComponent(nul)}`, `/account?x=${encodeURIComponent(nul)}`]) {
    const response = await fetch(`${hub.url}${path}`, { headers: { accept: 'text/html' }, redirect: 'manual' });
    t.true(response.status < 500, `${path}: ${response.status}`);
  }
});
