import test from 'ava';
import * as oidc from 'openid-client';
import { callbackUrl } from '../helpers/fixtures.ts';
import { UserAgent } from '../helpers/user-agent.ts';
import { authorize, oauthError, scene, tokenRequest } from '../helpers/oidc.ts';

const clientTypes = ['web', 'native', 'extension'] as const;

/** The query of the redirect back to the client, for a request that passed redirect URI checks but was refused. */
async function refusedAtCallback(hubUrl: string, url: URL) {
  const response = await new UserAgent().request(url.href);
  const location = response.headers.get('location');
  return { status: response.status, location: location ? new URL(location, hubUrl) : null };
}

/** Each type's own kind of redirect: an extension's is chrome.identity's. */
const redirectOf = (type: (typeof clientTypes)[number]) => (type === 'extension' ? 'https://abcdefghijklmnopabcdefghijklmnop.chromiumapp.org/' : callbackUrl);

for (const type of clientTypes) {
  const redirect = redirectOf(type);
  test.serial(`PKCE: a ${type} client's authorization request without code_challenge is refused`, async (t) => {
    const { hub, rp } = await scene(t, { client: { type, redirectUris: [redirect] } });
    const url = oidc.buildAuthorizationUrl(rp, { redirect_uri: redirect, scope: 'openid', state: 'st' });
    const { status, location } = await refusedAtCallback(hub.url, url);
    t.true(status >= 300 && status < 400, `status ${status}`);
    t.true(location!.href.startsWith(redirect));
    t.is(location!.searchParams.get('error'), 'invalid_request');
    t.regex(location!.searchParams.get('error_description') ?? '', /PKCE/i);
    t.is(location!.searchParams.get('code'), null);
  });

  test.serial(`PKCE: a ${type} client's code_challenge_method=plain (or none) is refused`, async (t) => {
    const { hub, rp } = await scene(t, { client: { type, redirectUris: [redirect] } });
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(rp, {
      redirect_uri: redirect,
      scope: 'openid',
      code_challenge: verifier,
      code_challenge_method: 'plain',
    });
    const { location } = await refusedAtCallback(hub.url, url);
    t.is(location!.searchParams.get('error'), 'invalid_request');
    t.regex(location!.searchParams.get('error_description') ?? '', /code_challenge_method/);
    t.is(location!.searchParams.get('code'), null);

    // No method at all would mean "plain" by RFC 7636's default: refused too.
    const implicitPlain = new URL(url);
    implicitPlain.searchParams.delete('code_challenge_method');
    const { location: refused } = await refusedAtCallback(hub.url, implicitPlain);
    t.is(refused!.searchParams.get('error'), 'invalid_request');
    t.regex(refused!.searchParams.get('error_description') ?? '', /code_challenge_method must be provided/);
  });

  test.serial(`PKCE: a ${type} client redeeming a code with a wrong or missing verifier gets invalid_grant`, async (t) => {
    const s = await scene(t, { client: { type, redirectUris: [redirect] } });
    const { callback, verifier } = await authorize(s, { redirect_uri: redirect });
    const code = callback.searchParams.get('code')!;
    const form = { grant_type: 'authorization_code', code, redirect_uri: redirect };

    const missing = await tokenRequest(s.hub, s.client, form);
    t.is(missing.status, 400);
    t.is(missing.json.error, 'invalid_grant');

    // A failed verifier check must not consume the code: the right verifier still works once.
    const wrong = await tokenRequest(s.hub, s.client, { ...form, code_verifier: oidc.randomPKCECodeVerifier() });
    t.is(wrong.status, 400);
    t.is(wrong.json.error, 'invalid_grant');

    // The verifier sent as-is (what a "plain" downgrade would send) is not the S256 challenge either.
    const challengeAsVerifier = await tokenRequest(s.hub, s.client, { ...form, code_verifier: await oidc.calculatePKCECodeChallenge(verifier) });
    t.is(challengeAsVerifier.json.error, 'invalid_grant');

    const right = await oidc.authorizationCodeGrant(s.rp, callback, { pkceCodeVerifier: verifier, expectedState: callback.searchParams.get('state')! });
    t.truthy(right.access_token);
    t.is(await oauthError(t, oidc.authorizationCodeGrant(s.rp, callback, { pkceCodeVerifier: verifier, expectedState: callback.searchParams.get('state')! })), 'invalid_grant');
  });
}

const registered = 'https://app.example.test/callback';

const mutations: Array<[string, string]> = [
  ['a query added', `${callbackUrl}?next=https://evil.test/`],
  ['the host in upper case', 'https://APP.example.test/callback'],
  ['the path in a different case', 'https://app.example.test/Callback'],
  ['an extra path segment', `${callbackUrl}/evil`],
  ['an extra path segment after a slash', `${registered}/../callback/x`],
  ['the @ userinfo trick', 'http://127.0.0.1:9@evil.test/callback'],
  ['userinfo before the registered host', 'https://evil.test@app.example.test/callback'],
  ['a fragment', `${callbackUrl}#frag`],
  ['a javascript: scheme', 'javascript://app.example.test/callback%0aalert(document.domain)'],
  ['a different port', 'http://127.0.0.1:10/callback'],
  ['https instead of http', 'https://127.0.0.1:9/callback'],
  ['a trailing slash', `${callbackUrl}/`],
];

for (const [what, redirectUri] of mutations) {
  test.serial(`redirect URI with ${what} gets our error page and no redirect`, async (t) => {
    const { hub, client } = await scene(t, { client: { redirectUris: [callbackUrl, registered] } });
    const verifier = oidc.randomPKCECodeVerifier();
    const url = new URL(`${hub.url}/auth`);
    url.search = new URLSearchParams({
      client_id: client.client_id,
      response_type: 'code',
      scope: 'openid',
      redirect_uri: redirectUri,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: 'st',
    }).toString();
    const response = await fetch(url, { redirect: 'manual' });
    t.is(response.status, 400);
    t.is(response.headers.get('location'), null);
    t.regex(response.headers.get('content-type') ?? '', /text\/html/);
    const html = await response.text();
    t.regex(html, /return address it has not registered/);
    t.regex(html, /invalid_redirect_uri/);
    // Nothing of the attacker's address is echoed back as a link.
    t.notRegex(html, /href="(javascript:|https?:\/\/(evil|127\.0\.0\.1:9@))/);
  });
}

test.serial('a native client may use any loopback port (RFC 8252) but not another path or host', async (t) => {
  const { hub, client } = await scene(t, { client: { type: 'native' } });
  const attempt = async (redirectUri: string) => {
    const url = new URL(`${hub.url}/auth`);
    url.search = new URLSearchParams({
      client_id: client.client_id,
      response_type: 'code',
      scope: 'openid',
      redirect_uri: redirectUri,
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    }).toString();
    return fetch(url, { redirect: 'manual' });
  };
  const otherPort = await attempt('http://127.0.0.1:51234/callback');
  t.is(otherPort.status, 303);
  t.true(otherPort.headers.get('location')!.startsWith('/interaction/'));
  for (const bad of ['http://127.0.0.1:51234/callback/x', 'http://127.0.0.2:9/callback', 'http://localhost:9/callback']) {
    const refused = await attempt(bad);
    t.is(refused.status, 400, bad);
    t.is(refused.headers.get('location'), null, bad);
  }
});
