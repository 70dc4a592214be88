import type { AddressInfo } from 'node:net';
import test from 'ava';
import * as oidc from 'openid-client';
import { deleteUser, disableUser } from '../../src/identity/account-status.ts';
import { sessionPolicy, sessionTtl } from '../../src/sessions/session-policy.ts';
import type { Hub } from '../../src/app/start.ts';
import { callbackUrl, makeClient, makeService } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { authorize, scene } from '../helpers/oidc.ts';
import { UserAgent } from '../helpers/user-agent.ts';

const sessionCookie = (agent: UserAgent) => /(?:^|; )_session=([^;]+)/.exec(agent.cookieHeader())?.[1];

test('session cookies are HttpOnly and SameSite=Lax; a sign-in always gets a new session id', async (t) => {
  const s = await scene(t);
  const agent = new UserAgent();
  const seen: string[] = [];
  const original = agent.request.bind(agent);
  agent.request = async (url, init) => {
    const response = await original(url, init);
    seen.push(...response.headers.getSetCookie());
    return response;
  };
  await authorize(s, {}, agent);
  const session = seen.find((c) => c.startsWith('_session='))!;
  t.truthy(session);
  t.regex(session, /;\s*httponly/i);
  t.regex(session, /;\s*samesite=lax/i);
  t.notRegex(session, /;\s*secure/i, 'plain http in development');
  const first = sessionCookie(agent)!;
  t.truthy(await s.hub.db('oidc_models').where({ model: 'Session', id: first }).first());

  // Signing in again (prompt=login) in the same browser: a new id, the old one gone.
  await authorize(s, { prompt: 'login' }, agent);
  const second = sessionCookie(agent)!;
  t.not(second, first);
  t.is(await s.hub.db('oidc_models').where({ model: 'Session', id: first }).first(), undefined);
  t.truthy(await s.hub.db('oidc_models').where({ model: 'Session', id: second }).first());
});

/** The Set-Cookie headers of the sign-in page an authorization request leads to. */
async function interactionCookies(hub: Hub, headers: Record<string, string> = {}) {
  const service = await makeService(hub);
  const client = await makeClient(hub, { service: service.slug });
  const query = new URLSearchParams({ client_id: client.client_id, response_type: 'code', scope: 'openid', redirect_uri: callbackUrl, code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' });
  // The listening address: hub.url is the issuer, which may be a public name in front of a proxy.
  const { port } = hub.server.address() as AddressInfo;
  const response = await fetch(`http://127.0.0.1:${port}/auth?${query}`, { redirect: 'manual', headers });
  return { status: response.status, cookies: response.headers.getSetCookie().filter((c) => c.startsWith('_interaction')) };
}

test('with an https:// issuer behind a trusted TLS proxy the cookies are also Secure', async (t) => {
  const hub = await startTestHub(t, { env: { NODE_ENV: 'production', ISSUER: 'https://id.example.test', TRUST_PROXY: 'true' } });
  const { status, cookies } = await interactionCookies(hub, { 'x-forwarded-proto': 'https' });
  t.is(status, 303);
  t.true(cookies.length > 0);
  for (const cookie of cookies) {
    t.regex(cookie, /;\s*secure/i);
    t.regex(cookie, /;\s*httponly/i);
    t.regex(cookie, /;\s*samesite=lax/i);
  }
});

test('in production on a plain http:// issuer (docker compose on localhost) sign-in still works, with a warning at start, its cookies not Secure', async (t) => {
  const hub = await startTestHub(t, { env: { NODE_ENV: 'production' } });
  t.true(hub.config.warnings.some((w) => w.startsWith('ISSUER is not https:// in production')));
  const { status, cookies } = await interactionCookies(hub);
  t.is(status, 303);
  t.true(cookies.length > 0);
  for (const cookie of cookies) t.notRegex(cookie, /;\s*secure/i);
});

test('an https:// issuer without TRUST_PROXY: a warning at start says what to set, and the failure it causes is logged with its cause', async (t) => {
  const hub = await startTestHub(t, { env: { NODE_ENV: 'production', ISSUER: 'https://id.example.test' } });
  t.true(hub.config.warnings.some((w) => w.includes('set TRUST_PROXY=true')));
  const logged: Array<{ fields: { err?: Error; path?: string }; message: string }> = [];
  hub.logger.error = ((fields: { err?: Error; path?: string }, message: string) => void logged.push({ fields, message })) as typeof hub.logger.error;
  const { status } = await interactionCookies(hub);
  t.is(status, 500);
  t.is(logged.length, 1);
  t.is(logged[0]!.message, 'OpenID Connect provider error');
  t.is(logged[0]!.fields.path, '/auth');
  t.regex(logged[0]!.fields.err!.message, /secure cookie over unencrypted connection/);
});

test('sessions end after 2 idle days, and 14 days after sign-in whatever the use', async (t) => {
  const s = await scene(t);
  await authorize(s);
  const row = await s.hub.db('oidc_models').where({ model: 'Session', account_id: s.person.id }).first();
  const left = (new Date(row.expires_at).getTime() - Date.now()) / 1000;
  t.true(left <= sessionPolicy.idleSeconds && left > sessionPolicy.idleSeconds - 120, `expires in ${left} s`);
  const now = 1_800_000_000;
  t.is(sessionTtl(null, { loginTs: now - 60 }, now), sessionPolicy.idleSeconds);
  t.is(sessionTtl(null, { loginTs: now - sessionPolicy.absoluteSeconds + 3600 }, now), 3600);
  t.is(sessionTtl(null, { loginTs: now - sessionPolicy.absoluteSeconds - 10 }, now), 1);
});

test('disabling an account ends every session and refresh token at once; deleting one too', async (t) => {
  const s = await scene(t);
  const signedIn = await authorize(s);
  const tokens = await oidc.authorizationCodeGrant(s.rp, signedIn.callback, { pkceCodeVerifier: signedIn.verifier, expectedState: signedIn.state });
  t.truthy(tokens.refresh_token);
  await disableUser(s.hub.db, s.person.id, { actorId: null, ip: '127.0.0.1' });
  t.is(await s.hub.db('oidc_models').where({ account_id: s.person.id }).first(), undefined);
  const refresh = await t.throwsAsync(oidc.refreshTokenGrant(s.rp, tokens.refresh_token!));
  t.is((refresh as oidc.ResponseBodyError).error, 'invalid_grant');
  // The browser that was signed in is asked to sign in again, and cannot.
  await t.throwsAsync(authorize(s, {}, signedIn.agent));
  t.truthy(await s.hub.db('audit_log').where({ action: 'user.disabled', subject_id: s.person.id }).first());

  const other = await scene(t);
  const again = await authorize(other);
  await oidc.authorizationCodeGrant(other.rp, again.callback, { pkceCodeVerifier: again.verifier, expectedState: again.state });
  await deleteUser(other.hub.db, other.person.id);
  t.is(await other.hub.db('oidc_models').where({ account_id: other.person.id }).first(), undefined);
  t.is(await other.hub.db('users').where({ id: other.person.id }).first(), undefined);
  t.truthy(await other.hub.db('outbox').where({ type: 'user.deleted', user_id: other.person.id }).first());
});
