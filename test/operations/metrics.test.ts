import { randomBytes } from 'node:crypto';
import test from 'ava';
import * as oidc from 'openid-client';
import { setServiceRateLimits } from '../../src/catalog/service-rate-limits.ts';
import { cliActor } from '../../src/audit/actors.ts';
import { startTestHub } from '../helpers/hub.ts';
import { callbackUrl, makeClient, makeService } from '../helpers/fixtures.ts';
import { authorize, basic, postForm, sceneOn } from '../helpers/oidc.ts';
import { UserAgent, signInThroughPages } from '../helpers/user-agent.ts';
import { metricsToken, samples, scrape, total } from './scrape.ts';

test('requests, sign-ins, tokens, reuse and refusals show in /metrics by route template and service, never by raw path', async (t) => {
  const hub = await startTestHub(t, { env: { METRICS_TOKEN: metricsToken } });
  const s = await sceneOn(hub);
  const slug = s.service.slug;

  // A sign-in through the pages, its code redeemed, the refresh token used and then presented again.
  const { callback, verifier, state } = await authorize(s);
  const tokens = await oidc.authorizationCodeGrant(s.rp, callback, { pkceCodeVerifier: verifier, expectedState: state });
  const refresh = { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! };
  t.is((await postForm(`${hub.url}/token`, refresh, { authorization: basic(s.client) })).status, 200);
  t.is((await postForm(`${hub.url}/token`, refresh, { authorization: basic(s.client) })).status, 400, 'a used refresh token is refused');

  // A client-credentials token, and a wrong password.
  const machine = await postForm(`${hub.url}/token`, { grant_type: 'client_credentials', resource: s.service.resource }, { authorization: basic(s.client) });
  t.is(machine.status, 200, machine.text);
  const url = oidc.buildAuthorizationUrl(s.rp, { redirect_uri: callbackUrl, scope: 'openid', code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()), code_challenge_method: 'S256' });
  await t.throwsAsync(signInThroughPages(new UserAgent(), hub.url, url.href, s.person.email, 'not the password'), { message: /answered 401/ });

  // A refused request (no token), a rate-limited one, and a 404 at a path nobody registered.
  t.is((await fetch(`${hub.url}/hub/entitlements`)).status, 401);
  const noisy = await makeService(hub, `noisy-${randomBytes(2).toString('hex')}`);
  const noisyClient = await makeClient(hub, { service: noisy.slug });
  await setServiceRateLimits(hub.db, noisy.slug, { token: '1' }, cliActor());
  const asNoisy = () => postForm(`${hub.url}/token`, { grant_type: 'client_credentials', resource: noisy.resource }, { authorization: basic(noisyClient) });
  t.is((await asNoisy()).status, 200);
  t.is((await asNoisy()).status, 429);
  const random = `no-such-page-${randomBytes(6).toString('hex')}`;
  t.is((await fetch(`${hub.url}/${random}/${random}`)).status, 404);
  t.is((await fetch(`${hub.url}/account/${random}`)).status, 404);

  const text = await scrape(hub);
  const all = samples(text);
  const requests = 'uniqverse_http_request_duration_seconds_count';

  t.false(text.includes(random), 'a raw path never becomes a label value');
  t.true(total(all, requests, { route: 'other', code: '4xx' }) >= 2, 'unmatched paths are counted as route="other"');
  t.is(total(all, requests, { route: '/token', service: slug, method: 'POST', code: '2xx' }), 3, 'code, refresh and client credentials at /token, by service');
  t.is(total(all, requests, { route: '/token', service: slug, method: 'POST', code: '4xx' }), 1, 'the reused refresh token');
  t.is(total(all, requests, { route: '/token', service: noisy.slug, code: '2xx' }), 1);
  t.is(total(all, requests, { route: '/token', code: '4xx', service: 'none' }), 1, 'the refused token request is at /token, before any client is authenticated');
  t.true(total(all, requests, { route: '/auth', service: slug, method: 'GET' }) >= 1, 'the provider\'s authorization endpoint, by client');
  t.true(total(all, requests, { route: '/interaction/:uid/login', method: 'POST', code: '3xx' }) >= 1, 'a sign-in page by its template');
  t.true(total(all, requests, { route: '/interaction/:uid/login', method: 'POST', code: '4xx' }) >= 1);
  t.is(total(all, requests, { route: '/hub/entitlements', code: '4xx' }), 1, 'a refused API request, by its template');
  t.true(total(all, 'uniqverse_http_request_duration_seconds_bucket', { route: '/token', service: slug, le: '+Inf' }) >= 4, 'a latency histogram');

  t.is(total(all, 'uniqverse_sign_ins_total', { method: 'password', outcome: 'success' }), 1);
  t.is(total(all, 'uniqverse_sign_ins_total', { method: 'password', outcome: 'invalid_credentials' }), 1);
  t.is(total(all, 'uniqverse_tokens_issued_total', { grant_type: 'authorization_code', service: slug }), 1);
  t.is(total(all, 'uniqverse_tokens_issued_total', { grant_type: 'refresh_token', service: slug }), 1);
  t.is(total(all, 'uniqverse_tokens_issued_total', { grant_type: 'client_credentials', service: slug }), 1);
  t.is(total(all, 'uniqverse_refresh_token_reuse_total', { service: slug }), 1);
  t.is(total(all, 'uniqverse_rate_limit_refusals_total', { limit: 'api_token' }), 1);
});
