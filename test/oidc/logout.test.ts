import test from 'ava';
import * as oidc from 'openid-client';
import { callbackUrl } from '../helpers/fixtures.ts';
import { authorize, scene } from '../helpers/oidc.ts';

const signedOutUrl = 'http://127.0.0.1:9/signed-out';

const formOf = (html: string) => ({
  action: /<form[^>]+action="([^"]+)"/.exec(html)?.[1]?.replace(/&amp;/g, '&'),
  xsrf: /name="xsrf" value="([^"]+)"/.exec(html)?.[1],
});

test.serial('RP-initiated logout: our page asks, "Sign out" ends the session and returns to the registered URI', async (t) => {
  const s = await scene(t);
  const { callback, verifier, state, agent } = await authorize(s);
  const tokens = await oidc.authorizationCodeGrant(s.rp, callback, { pkceCodeVerifier: verifier, expectedState: state });

  const endSession = oidc.buildEndSessionUrl(s.rp, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: signedOutUrl, state: 'bye' });
  t.is(endSession.pathname, '/session/end');
  const page = await agent.request(endSession.href);
  t.is(page.status, 200);
  t.regex(page.headers.get('content-type') ?? '', /text\/html/);
  const html = await page.text();
  t.regex(html, /<button[^>]*>Sign out<\/button>/);
  const { action, xsrf } = formOf(html);
  t.truthy(action);
  t.truthy(xsrf);

  const confirmed = await agent.postForm(new URL(action!, s.hub.url).href, { xsrf: xsrf!, logout: 'yes' });
  t.true(confirmed.status >= 300 && confirmed.status < 400, `status ${confirmed.status}`);
  const back = new URL(confirmed.headers.get('location')!, s.hub.url);
  t.is(`${back.origin}${back.pathname}`, signedOutUrl);
  t.is(back.searchParams.get('state'), 'bye');

  // The browser's session is gone: a silent sign-in now needs a login.
  const silent = oidc.buildAuthorizationUrl(s.rp, {
    redirect_uri: callbackUrl,
    scope: 'openid',
    prompt: 'none',
    code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
  });
  const { url } = await agent.follow(silent.href, s.hub.url);
  const answer = new URL(url);
  t.true(url.startsWith(callbackUrl), url);
  t.is(answer.searchParams.get('error'), 'login_required');
});

test.serial('RP-initiated logout: "Stay signed in" signs out of the app only, and keeps the hub session', async (t) => {
  const s = await scene(t);
  const { callback, verifier, state, agent } = await authorize(s);
  const tokens = await oidc.authorizationCodeGrant(s.rp, callback, { pkceCodeVerifier: verifier, expectedState: state });
  const endSession = oidc.buildEndSessionUrl(s.rp, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: signedOutUrl });
  const { action, xsrf } = formOf(await (await agent.request(endSession.href)).text());
  const kept = await agent.postForm(new URL(action!, s.hub.url).href, { xsrf: xsrf! });
  t.true(kept.status >= 300 && kept.status < 400);
  t.true(kept.headers.get('location')!.startsWith(signedOutUrl));

  // offline_access is asked for exactly so that the app keeps working while the person is signed out (OIDC Core §11).
  t.truthy((await oidc.refreshTokenGrant(s.rp, tokens.refresh_token!)).access_token);
  // The person is still signed in to the hub, but no longer to this app: the next sign-in asks for consent, not for the password.
  const again = oidc.buildAuthorizationUrl(s.rp, {
    redirect_uri: callbackUrl,
    scope: 'openid',
    code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
  });
  const { response } = await agent.follow(again.href, s.hub.url);
  const html = await response.text();
  t.regex(html, /\/interaction\/[\w-]+\/confirm/);
  t.notRegex(html, /name="password"/);
});

test.serial('RP-initiated logout with an unregistered post_logout_redirect_uri is refused, with no redirect', async (t) => {
  const s = await scene(t);
  const { callback, verifier, state, agent } = await authorize(s);
  const tokens = await oidc.authorizationCodeGrant(s.rp, callback, { pkceCodeVerifier: verifier, expectedState: state });
  for (const unregistered of ['https://evil.test/signed-out', `${signedOutUrl}?x=1`, 'http://127.0.0.1:9@evil.test/signed-out']) {
    const endSession = oidc.buildEndSessionUrl(s.rp, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: unregistered });
    const response = await agent.request(endSession.href, { headers: { accept: 'text/html,application/xhtml+xml' } });
    t.is(response.status, 400, unregistered);
    t.is(response.headers.get('location'), null);
    t.regex(response.headers.get('content-type') ?? '', /text\/html/);
    const html = await response.text();
    t.regex(html, /post_logout_redirect_uri/);
    t.notRegex(html, /Sign out<\/button>/);
  }
});

test.serial('logout without an id_token_hint still asks, and ends on our signed-out page', async (t) => {
  const s = await scene(t);
  const { agent } = await authorize(s);
  const page = await agent.request(`${s.hub.url}/session/end`);
  t.is(page.status, 200);
  const { action, xsrf } = formOf(await page.text());
  const confirmed = await agent.postForm(new URL(action!, s.hub.url).href, { xsrf: xsrf!, logout: 'yes' });
  const { response, url } = await agent.follow(new URL(confirmed.headers.get('location')!, s.hub.url).href, s.hub.url);
  t.true(url.startsWith(s.hub.url), url);
  t.is(response.status, 200);
  t.regex(await response.text(), /signed out/i);
});
