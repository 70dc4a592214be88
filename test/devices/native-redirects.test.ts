import test from 'ava';
import * as oidc from 'openid-client';
import type { Hub } from '../../src/app/start.ts';
import { makeClient, makePerson, makeService, relyingParty, type Person } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { UserAgent, signInThroughPages } from '../helpers/user-agent.ts';
import { hubAudience } from '../events/helpers.ts';
import { postForm } from '../helpers/oidc.ts';

const extensionId = 'ponmlkjihgfedcbaponmlkjihgfedcba';

/**
 * The whole authorization code + PKCE flow through the sign-in pages: where the hub finally sends
 * the browser (the exact redirect, as the app or extension receives it), and the code redeemed
 * at /token with that same redirect_uri, as a public client.
 */
async function signIn(hub: Hub, clientId: string, person: Person, redirectUri: string) {
  const verifier = oidc.randomPKCECodeVerifier();
  const url = new URL(`${hub.url}/auth`);
  url.search = new URLSearchParams({
    client_id: clientId,
    response_type: 'code',
    redirect_uri: redirectUri,
    scope: 'openid hub offline_access',
    resource: hubAudience(hub),
    prompt: 'consent',
    state: 'st-1',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  }).toString();
  const landed = await signInThroughPages(new UserAgent(), hub.url, url.href, person.email, person.password);
  const query = new URLSearchParams(landed.slice(landed.indexOf('?') + 1));
  const tokens = await postForm(`${hub.url}/token`, {
    grant_type: 'authorization_code',
    code: query.get('code') ?? '',
    redirect_uri: redirectUri,
    code_verifier: verifier,
    client_id: clientId,
  });
  return { landed, state: query.get('state'), tokens };
}

async function setup(t: Parameters<typeof startTestHub>[0]) {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepychess');
  return { hub, person: await makePerson(hub) };
}

const cases: Array<[string, 'native' | 'extension', string, string]> = [
  ['a loopback IPv4 redirect, on any port', 'native', 'http://127.0.0.1/oauth/callback', 'http://127.0.0.1:53117/oauth/callback'],
  ['a loopback IPv6 redirect, on any port', 'native', 'http://[::1]/oauth/callback', 'http://[::1]:49152/oauth/callback'],
  ['a private-use scheme in reverse-DNS form', 'native', 'com.veze.chess:/oauth2redirect', 'com.veze.chess:/oauth2redirect'],
  ['a claimed https redirect', 'native', 'https://chess.veze.example/app/oauth', 'https://chess.veze.example/app/oauth'],
  ['chrome.identity\'s redirect', 'extension', `https://${extensionId}.chromiumapp.org/`, `https://${extensionId}.chromiumapp.org/`],
  ['a chrome-extension:// page', 'extension', `chrome-extension://${extensionId}/callback.html`, `chrome-extension://${extensionId}/callback.html`],
];

for (const [what, type, registered, used] of cases) {
  test(`${type}: ${what} completes code + PKCE with the exact redirect`, async (t) => {
    const { hub, person } = await setup(t);
    const client = await makeClient(hub, { service: 'vezepychess', type, redirectUris: [registered] });
    const { landed, state, tokens } = await signIn(hub, client.client_id, person, used);
    t.true(landed.startsWith(`${used}?code=`), `landed at ${landed}`);
    t.is(state, 'st-1');
    t.is(tokens.status, 200, JSON.stringify(tokens.json));
    t.truthy(tokens.json.access_token);
    t.truthy(tokens.json.refresh_token);
    // The token is good at the hub's API, as a device app uses it.
    const services = await fetch(`${hub.url}/hub/services`, { headers: { authorization: `Bearer ${tokens.json.access_token}` } });
    t.is(services.status, 200);
  });
}

test('native: a code is redeemed only with the redirect it was issued to, and a loopback redirect on another path or as localhost is refused', async (t) => {
  const { hub, person } = await setup(t);
  const client = await makeClient(hub, { service: 'vezepychess', type: 'native', redirectUris: ['http://127.0.0.1/oauth/callback'] });
  const verifier = oidc.randomPKCECodeVerifier();
  const rp = await relyingParty(hub, client);
  const url = oidc.buildAuthorizationUrl(rp, { redirect_uri: 'http://127.0.0.1:50001/oauth/callback', scope: 'openid', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
  const landed = new URL(await signInThroughPages(new UserAgent(), hub.url, url.href, person.email, person.password));
  const otherPort = await postForm(`${hub.url}/token`, { grant_type: 'authorization_code', code: landed.searchParams.get('code')!, redirect_uri: 'http://127.0.0.1:50002/oauth/callback', code_verifier: verifier, client_id: client.client_id });
  t.is(otherPort.status, 400);
  t.is(otherPort.json.error, 'invalid_grant');
  for (const bad of ['http://127.0.0.1:50001/other', 'http://localhost:50001/oauth/callback']) {
    const refused = await fetch(`${hub.url}/auth?${new URLSearchParams({ client_id: client.client_id, response_type: 'code', scope: 'openid', redirect_uri: bad, code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' })}`, { redirect: 'manual' });
    t.is(refused.status, 400, bad);
    t.is(refused.headers.get('location'), null, bad);
  }
});

test('registration refuses redirects a client of its type must not have, with the reason', async (t) => {
  const { hub } = await setup(t);
  const refused: Array<['native' | 'extension', string, RegExp]> = [
    ['native', 'myapp:/callback', /reverse domain name/],
    ['native', 'http://localhost:8080/callback', /not localhost/],
    ['native', 'http://chess.veze.example/callback', /loopback interface/],
    ['native', 'com.veze.chess:/cb#x', /fragment/],
    ['extension', 'https://chess.veze.example/callback', /chromiumapp\.org/],
    ['extension', 'https://not-an-id.chromiumapp.org/', /32-letter id/],
    ['extension', 'chrome-extension://short/cb', /32-letter id/],
    ['extension', 'http://127.0.0.1:9/callback', /chromiumapp\.org/],
  ];
  for (const [type, uri, reason] of refused) {
    const error = await t.throwsAsync(makeClient(hub, { service: 'vezepychess', type, redirectUris: [uri] }), undefined, `${type} ${uri}`);
    t.is((error as { status?: number }).status, 400, uri);
    t.regex(error!.message, reason, uri);
  }
});
