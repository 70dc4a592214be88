import test from 'ava';

// One at a time: each test runs a hub and a Chromium page, and the machine is small and shared.
import { grant, makePerson, makeService } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { csrfTokenOf, serviceSession, signedInAgent, userAgents } from './portal-helpers.ts';

const form = (fields: Record<string, string>) => ({ method: 'POST', body: new URLSearchParams(fields), headers: { 'content-type': 'application/x-www-form-urlencoded' } });

test.serial('every state change in the portal and the admin console is refused (403) without the CSRF token, and works with it', async (t) => {
  const hub = await startTestHub(t);
  const admin = await makePerson(hub, { admin: true });
  await makeService(hub, 'vezepygame');
  await grant(hub, admin.email, 'vezepygame', 'basic');
  const game = await serviceSession(hub, admin, 'vezepygame', userAgents.playStation);
  const agent = await signedInAgent(hub, admin);
  const token = await csrfTokenOf(agent, hub);
  const sessionUid = (await hub.db('session_sightings').where({ user_id: admin.id }).whereRaw("user_agent like '%PlayStation%'").first('session_uid')).session_uid as string;
  const posts = [
    `/account/sessions/${sessionUid}/sign-out`,
    '/account/sessions/sign-out-others',
    '/account/privacy/services/vezepygame',
    '/account/privacy/services/vezepygame/disconnect',
    '/account/privacy/delete',
    '/admin/services',
    '/admin/services/vezepygame/clients',
    `/admin/services/vezepygame/clients/${game.client.client_id}/redirect-uris`,
    '/admin/services/vezepygame/suspend',
    '/admin/services/vezepygame/activate',
    `/admin/users/${admin.id}/entitlements`,
    `/admin/users/${admin.id}/disable`,
    `/admin/users/${admin.id}/enable`,
    `/admin/users/${admin.id}/end-sessions`,
    '/admin/audit/verify',
    '/admin/keys/rotate',
  ];
  for (const path of posts) {
    const missing = await agent.request(`${hub.url}${path}`, form({ password: admin.password }));
    t.is(missing.status, 403, `${path} without a token`);
    const wrong = await agent.request(`${hub.url}${path}`, form({ _csrf: 'forged-token', password: admin.password }));
    t.is(wrong.status, 403, `${path} with a forged token`);
    const header = await agent.request(`${hub.url}${path}`, { ...form({}), headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-csrf-token': 'forged-token' } });
    t.is(header.status, 403, `${path} with a forged header`);
  }
  // Nothing changed: the console's session is still there, the service still active.
  t.truthy(await hub.db('oidc_models').where({ model: 'Session', uid: sessionUid }).first());
  t.is((await hub.db('services').where({ slug: 'vezepygame' }).first()).status, 'active');

  // With the token (form field or htmx header) the same requests go through.
  const withField = await agent.request(`${hub.url}/account/sessions/${sessionUid}/sign-out`, form({ _csrf: token }));
  t.is(withField.status, 303);
  t.falsy(await hub.db('oidc_models').where({ model: 'Session', uid: sessionUid }).first());
  const withHeader = await agent.request(`${hub.url}/account/privacy/services/vezepygame`, {
    ...form({ email: 'on' }),
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-csrf-token': token, 'hx-request': 'true' },
  });
  t.is(withHeader.status, 200);
});

test.serial('portal pages carry a CSP without inline scripts, and no inline script or handler in their HTML', async (t) => {
  const hub = await startTestHub(t);
  const admin = await makePerson(hub, { admin: true });
  const agent = await signedInAgent(hub, admin);
  for (const path of ['/account', '/account/services', '/account/sessions', '/account/privacy', '/account/activity', '/admin', '/admin/services', '/admin/users', '/admin/audit', '/admin/keys', '/admin/system']) {
    const response = await agent.request(`${hub.url}${path}`);
    t.is(response.status, 200, path);
    const csp = response.headers.get('content-security-policy') ?? '';
    t.regex(csp, /script-src 'self'(;|$)/, path);
    t.notRegex(csp, /unsafe-inline|unsafe-eval/, path);
    const html = await response.text();
    t.notRegex(html, /<script(?![^>]*\bsrc=)[^>]*>/, `${path} has an inline script`);
    t.notRegex(html, /\son[a-z]+=/i, `${path} has an inline handler`);
    t.notRegex(html, /\sstyle=/i, `${path} has an inline style`);
    t.regex(html, /<meta name="csrf-token" content="[\w-]+">/, path);
  }
});
