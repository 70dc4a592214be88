import test from 'ava';
import { cliActor } from '../../src/audit/actors.ts';
import { setServiceRateLimits } from '../../src/catalog/service-rate-limits.ts';
import { cliWorld, runCli, runJson, withWorldDatabase } from '../helpers/cli.ts';
import { makeClient, makePerson, makeService } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { basic, postForm } from '../helpers/oidc.ts';
import { api, hubAudience, personToken, serviceToken } from '../events/helpers.ts';
import { csrfTokenOf, signedInAgent } from '../portal/portal-helpers.ts';

test('/token per client: one client hammered to 429 (Retry-After, RateLimit headers) while another service\'s clients keep getting 200', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'noisy');
  await makeService(hub, 'quiet');
  await setServiceRateLimits(hub.db, 'noisy', { token: '5' }, cliActor());
  const noisy = await makeClient(hub, { service: 'noisy', type: 'web' });
  const quiet = await makeClient(hub, { service: 'quiet', type: 'web' });
  const form = (hubUrl: string) => ({ grant_type: 'client_credentials', resource: hubUrl, scope: 'events' });
  const ask = (client: { client_id: string; client_secret?: string }) => postForm(`${hub.url}/token`, form(hubAudience(hub)), { authorization: basic(client) });

  const statuses: number[] = [];
  for (let i = 0; i < 8; i++) {
    const [hammered, other] = await Promise.all([ask(noisy), ask(quiet)]);
    statuses.push(hammered.status);
    t.is(other.status, 200, 'the other service\'s client is never slowed');
    t.is(other.headers.get('ratelimit-policy'), '"token";q=600;w=60');
  }
  t.deepEqual(statuses, [200, 200, 200, 200, 200, 429, 429, 429]);
  const refused = await ask(noisy);
  t.is(refused.status, 429);
  t.is(refused.json.error, 'rate_limited');
  t.regex(refused.headers.get('retry-after')!, /^\d+$/);
  t.true(Number(refused.headers.get('retry-after')) >= 1 && Number(refused.headers.get('retry-after')) <= 60);
  t.is(refused.headers.get('ratelimit-policy'), '"token";q=5;w=60');
  t.regex(refused.headers.get('ratelimit')!, /^"token";r=0;t=\d+$/);

  // A public client names itself in the body: counted too, and the provider still reads that body.
  await setServiceRateLimits(hub.db, 'quiet', { token: '2' }, cliActor());
  const app = await makeClient(hub, { service: 'noisy', type: 'native' });
  const bogus = { grant_type: 'authorization_code', code: 'not-a-code', redirect_uri: 'http://127.0.0.1:9/callback', code_verifier: 'x'.repeat(43), client_id: app.client_id };
  const first = await postForm(`${hub.url}/token`, bogus);
  t.is(first.status, 400);
  t.is(first.json.error, 'invalid_grant', 'the body reached the provider intact');
  t.regex(first.headers.get('ratelimit')!, /^"token";r=4;t=\d+$/);
  for (let i = 0; i < 4; i++) await postForm(`${hub.url}/token`, bogus);
  t.is((await postForm(`${hub.url}/token`, bogus)).status, 429);
  // Junk bodies are still a 4xx, never a 500.
  t.is((await postForm(`${hub.url}/token`, { grant_type: 'client_credentials', client_id: '\u0000' })).status < 500, true);
  const huge = await fetch(`${hub.url}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `client_id=${'a'.repeat(70_000)}` });
  t.is(huge.status, 400);
});

test('/token is counted under every spelling the provider\'s router accepts', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'noisy');
  await setServiceRateLimits(hub.db, 'noisy', { token: '3' }, cliActor());
  const client = await makeClient(hub, { service: 'noisy', type: 'web' });
  const form = { grant_type: 'client_credentials', resource: hubAudience(hub), scope: 'events' };
  const statuses: number[] = [];
  for (const path of ['/token', '/Token', '/token/', '/TOKEN/', '/tOkEn']) {
    statuses.push((await postForm(`${hub.url}${path}`, form, { authorization: basic(client) })).status);
  }
  t.deepEqual(statuses, [200, 200, 200, 429, 429]);
});

test('POST /api/v1/events per service, /hub/* per person and client: 429 with Retry-After and RateLimit headers', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepygame');
  await makeService(hub, 'vezepyweb', { firstParty: true });
  await setServiceRateLimits(hub.db, 'vezepygame', { events: '2' }, cliActor());
  await setServiceRateLimits(hub.db, 'vezepyweb', { hub: '3' }, cliActor());
  const game = await serviceToken(hub, 'vezepygame');
  const ada = await makePerson(hub, { name: 'Ada' });
  const bob = await makePerson(hub, { name: 'Bob' });

  const post = () => api(hub, '/api/v1/events', game, { method: 'POST', body: JSON.stringify({ type: 'game.match.finished', user: ada.id, data: {} }) });
  t.not((await post()).status, 429);
  t.not((await post()).status, 429);
  const third = await post();
  t.is(third.status, 429);
  t.is(third.headers.get('ratelimit-policy'), '"events";q=2;w=60');
  t.truthy(third.headers.get('retry-after'));

  const adaToken = await personToken(hub, ada, 'vezepyweb');
  const bobToken = await personToken(hub, bob, 'vezepyweb');
  for (let i = 0; i < 3; i++) {
    const ok = await api(hub, '/hub/services', adaToken);
    t.is(ok.status, 200);
    t.regex(ok.headers.get('ratelimit')!, new RegExp(`^"hub";r=${2 - i};t=\\d+$`));
  }
  const over = await api(hub, '/hub/entitlements', adaToken);
  t.is(over.status, 429);
  t.is(over.body.title, 'rate_limited');
  t.truthy(over.headers.get('retry-after'));
  t.is((await api(hub, '/hub/services', bobToken)).status, 200, 'another person with the same app is not slowed');
});

test('an administrator sets the limits in the admin console (errors next to the field) and with `uniqverse services limits`', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepygame');
  const admin = await makePerson(hub, { admin: true });
  const agent = await signedInAgent(hub, admin);
  const page = await agent.request(`${hub.url}/admin/services/vezepygame`);
  t.regex(await page.text(), /Token requests per client/);
  const csrf = await csrfTokenOf(agent, hub);
  const bad = await agent.postForm(`${hub.url}/admin/services/vezepygame/rate-limits`, { _csrf: csrf, token: 'lots', events: '', hub: '' });
  t.is(bad.status, 400);
  t.regex(await bad.text(), /whole number/);
  const saved = await agent.postForm(`${hub.url}/admin/services/vezepygame/rate-limits`, { _csrf: csrf, token: '900', events: '', hub: '50' });
  t.is(saved.status, 303);
  const row = await hub.db('services').where({ slug: 'vezepygame' }).first();
  t.deepEqual([row.token_rate_limit, row.events_rate_limit, row.hub_rate_limit], [900, null, 50]);
  const audit = await hub.db('audit_log').where({ action: 'service.rate_limits_changed' }).first();
  t.is(audit.actor_id, admin.id);

  const world = await cliWorld(t);
  const cli = await runJson<{ rate_limits: Record<string, number> }>(t, world, ['services', 'create', '--slug', 'vezepychat', '--name', 'Chat']).then(() =>
    runJson<{ rate_limits: Record<string, number> }>(t, world, ['services', 'limits', '--slug', 'vezepychat', '--token', '1200', '--hub', 'default']),
  );
  t.deepEqual(cli.rate_limits, { token: 1200, events: 1200, hub: 300 });
  const refused = await runCli(world, ['services', 'limits', '--slug', 'vezepychat', '--events', 'lots']);
  t.not(refused.code, 0);
  t.regex(refused.stderr, /whole number/);
  await withWorldDatabase(world, async (db) => t.is((await db('services').where({ slug: 'vezepychat' }).first()).token_rate_limit, 1200));
});
