import http from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import * as oidc from 'openid-client';
import type { Hub } from '../../src/app/start.ts';
import { newPage } from '../helpers/browser.ts';
import { callbackUrl, makeClient, makePerson, makeService, relyingParty, type Person } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { UserAgent, signInThroughPages } from '../helpers/user-agent.ts';
import { hubAudience } from '../events/helpers.ts';
import { signedInAgent } from '../portal/portal-helpers.ts';

/** A page server of a browser app at its own origin (loopback, a port of its own). */
async function pageServer(t: Parameters<typeof startTestHub>[0]): Promise<string> {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>app</title><p>app</p>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Code + PKCE through the sign-in pages to `redirectUri`, exactly where the hub sends the browser; the tokens. */
async function codeFlow(hub: Hub, client: { client_id: string; client_secret?: string }, person: Person, redirectUri: string, scope = 'openid hub offline_access') {
  const rp = await relyingParty(hub, client);
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(rp, {
    redirect_uri: redirectUri,
    scope,
    resource: hubAudience(hub),
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    prompt: 'consent',
  });
  const landed = await signInThroughPages(new UserAgent(), hub.url, url.href, person.email, person.password);
  const tokens = await oidc.authorizationCodeGrant(rp, new URL(landed), { pkceCodeVerifier: verifier, expectedState: state });
  return { landed, tokens };
}

test('in Chromium, /hub/* answers a page at its client\'s registered origin and no other', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepyweb', { firstParty: true });
  const person = await makePerson(hub);
  const appOrigin = await pageServer(t);
  const otherOrigin = await pageServer(t);
  const client = await makeClient(hub, { service: 'vezepyweb', type: 'web', redirectUris: [callbackUrl, `${appOrigin}/signed-in`] });
  const { tokens } = await codeFlow(hub, client, person, callbackUrl);
  const { page } = await newPage(t);
  const call = (origin: string) =>
    page.goto(`${origin}/`).then(() =>
      page.evaluate(
        async ([hubUrl, token]) => {
          try {
            const response = await fetch(`${hubUrl}/hub/services`, { headers: { authorization: `Bearer ${token}` } });
            return { status: response.status, ratelimit: response.headers.get('ratelimit'), body: await response.json() };
          } catch (error) {
            return { failed: String(error) };
          }
        },
        [hub.url, tokens.access_token] as const,
      ),
    );
  const allowed = await call(appOrigin);
  t.like(allowed, { status: 200 });
  t.true(Array.isArray((allowed as { body: { services: unknown[] } }).body.services));
  t.truthy((allowed as { ratelimit: string | null }).ratelimit, 'exposed headers are readable');
  const refused = await call(otherOrigin);
  t.regex((refused as { failed?: string }).failed ?? '', /Failed to fetch/);
});

test('preflights and requests from other origins: only the token\'s client\'s origins, never the portal\'s cookie', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepyweb', { firstParty: true });
  await makeService(hub, 'vezepygame');
  const person = await makePerson(hub);
  const web = await makeClient(hub, { service: 'vezepyweb', type: 'web', redirectUris: [callbackUrl, 'https://app.vezepyweb.example/cb'] });
  await makeClient(hub, { service: 'vezepygame', type: 'web', redirectUris: [callbackUrl, 'https://game.example/cb'] });
  const { tokens } = await codeFlow(hub, web, person, callbackUrl);
  const bearer = { authorization: `Bearer ${tokens.access_token}` };

  const preflight = (origin: string) =>
    fetch(`${hub.url}/hub/devices`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' } });
  const ok = await preflight('https://app.vezepyweb.example');
  t.is(ok.status, 204);
  t.is(ok.headers.get('access-control-allow-origin'), 'https://app.vezepyweb.example');
  t.regex(ok.headers.get('access-control-allow-headers') ?? '', /Authorization/);
  t.regex(ok.headers.get('access-control-allow-methods') ?? '', /POST/);
  t.is(ok.headers.get('access-control-allow-credentials'), null);
  t.regex(ok.headers.get('vary') ?? '', /Origin/);
  const unknown = await preflight('https://evil.example');
  t.is(unknown.status, 403);
  t.is(unknown.headers.get('access-control-allow-origin'), null);

  // The request itself: its token's client decides.
  const own = await fetch(`${hub.url}/hub/services`, { headers: { ...bearer, origin: 'https://app.vezepyweb.example' } });
  t.is(own.status, 200);
  t.is(own.headers.get('access-control-allow-origin'), 'https://app.vezepyweb.example');
  t.regex(own.headers.get('access-control-expose-headers') ?? '', /RateLimit/);
  const otherClients = await fetch(`${hub.url}/hub/services`, { headers: { ...bearer, origin: 'https://game.example' } });
  t.is(otherClients.status, 403);
  t.regex(((await otherClients.json()) as { detail: string }).detail, /not registered for client/);
  const posted = await fetch(`${hub.url}/hub/devices`, { method: 'POST', headers: { ...bearer, origin: 'https://game.example', 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'phone', os: 'x', app_version: '1' }) });
  t.is(posted.status, 403, 'nothing is done for a foreign origin');
  t.is(await hub.db('devices').count<[{ count: string }]>('* as count').first().then((r) => Number(r!.count)), 0);
  // A 401 is readable at a registered origin (so the page knows to refresh).
  const expired = await fetch(`${hub.url}/hub/services`, { headers: { authorization: 'Bearer nope', origin: 'https://app.vezepyweb.example' } });
  t.is(expired.status, 401);
  t.is(expired.headers.get('access-control-allow-origin'), 'https://app.vezepyweb.example');

  // No Origin (a native app, a server): no CORS at all; the hub's own origin: as before.
  const native = await fetch(`${hub.url}/hub/services`, { headers: bearer });
  t.is(native.status, 200);
  t.is(native.headers.get('access-control-allow-origin'), null);
  const agent = await signedInAgent(hub, person);
  const ownPages = await fetch(`${hub.url}/hub/services`, { headers: { cookie: agent.cookieHeader(), origin: new URL(hub.url).origin } });
  t.is(ownPages.status, 200);
  const cookieElsewhere = await fetch(`${hub.url}/hub/services`, { headers: { cookie: agent.cookieHeader(), origin: 'https://app.vezepyweb.example' } });
  t.is(cookieElsewhere.status, 403);
  t.is(cookieElsewhere.headers.get('access-control-allow-credentials'), null);
});

test('an extension signs in with chrome.identity\'s redirect and calls the token endpoint and /hub/* from chrome-extension://<id> only', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepyweb', { firstParty: true });
  const person = await makePerson(hub);
  const id = 'abcdefghijklmnopabcdefghijklmnop';
  const chromiumApp = `https://${id}.chromiumapp.org/`;
  const extension = await makeClient(hub, { service: 'vezepyweb', type: 'extension', redirectUris: [chromiumApp, `chrome-extension://${id}/callback.html`] });

  // The exact redirect chrome.identity.launchWebAuthFlow waits for, with the code.
  const { landed, tokens } = await codeFlow(hub, extension, person, chromiumApp);
  t.true(landed.startsWith(`${chromiumApp}?code=`), landed);
  t.truthy(tokens.refresh_token);

  const refresh = (origin: string, refreshToken: string) =>
    fetch(`${hub.url}/token`, {
      method: 'POST',
      headers: { origin, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: extension.client_id, resource: hubAudience(hub) }),
    });
  const fromExtension = await refresh(`chrome-extension://${id}`, tokens.refresh_token!);
  t.is(fromExtension.status, 200);
  t.is(fromExtension.headers.get('access-control-allow-origin'), `chrome-extension://${id}`);
  const renewed = (await fromExtension.json()) as { access_token: string; refresh_token: string };
  const fromElsewhere = await refresh('https://evil.example', renewed.refresh_token);
  t.is(fromElsewhere.status, 400);
  t.is(fromElsewhere.headers.get('access-control-allow-origin'), null);
  t.regex(((await fromElsewhere.json()) as { error_description: string }).error_description, /origin https:\/\/evil\.example not allowed/);

  const hubCall = await fetch(`${hub.url}/hub/entitlements`, { headers: { authorization: `Bearer ${renewed.access_token}`, origin: `chrome-extension://${id}` } });
  t.is(hubCall.status, 200);
  t.is(hubCall.headers.get('access-control-allow-origin'), `chrome-extension://${id}`);
});
