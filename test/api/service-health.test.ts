import test from 'ava';
import { cliActor } from '../../src/audit/actors.ts';
import { checkDueServices } from '../../src/catalog/service-health.ts';
import { setServiceHealthUrl } from '../../src/catalog/services.ts';
import { setServiceStatus } from '../../src/catalog/service-status.ts';
import { auditEntriesAfter } from '../helpers/audit.ts';
import { makePerson, makeService } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { api, eventually, personToken, webhookReceiver } from '../events/helpers.ts';
import { graphqlPost } from '../graphql/helpers.ts';
import { csrfTokenOf, signedInAgent } from '../portal/portal-helpers.ts';
import { checkResponse } from './openapi-check.ts';

const checkOften = { env: { HEALTH_CHECK_INTERVAL_SECONDS: '0.2', HEALTH_CHECK_TIMEOUT_SECONDS: '0.5' } };

type Answer = number | 'hang';

test.serial('a service that answers 2xx is up; one failed check is a blip, two make it down; each change is an event and an audit entry, shown everywhere', async (t) => {
  const hub = await startTestHub(t, checkOften);
  await makeService(hub, 'vezepygame');
  await makeService(hub, 'vezepyweb', { firstParty: true });
  let answer: Answer = 200;
  const server = await webhookReceiver(() => answer);
  t.teardown(() => server.close());
  const person = await makePerson(hub);
  const token = await personToken(hub, person, 'vezepyweb');
  const healthOf = async (slug: string) => {
    const response = await api(hub, '/hub/services', token);
    checkResponse(t, '/hub/services', 'GET', response);
    return response.body.services.find((s: { slug: string }) => s.slug === slug).health as string;
  };

  t.is(await healthOf('vezepygame'), 'unknown', 'without a health URL it is never asked');
  await setServiceHealthUrl(hub.db, 'vezepygame', server.url, cliActor());
  await eventually(async () => (await healthOf('vezepygame')) === 'up', 10_000, 'up');
  t.is(await healthOf('vezepyweb'), 'unknown');
  const changes = async () => (await hub.db('outbox').where({ type: 'service.status_changed', service: 'vezepygame' }).orderBy('seq').select('data')).map((r: { data: Record<string, unknown> }) => r.data);
  t.deepEqual(await changes(), [{ slug: 'vezepygame', status: 'active', health: 'up', previous_health: 'unknown' }]);

  // One failure, then success again: no change is announced.
  const before = server.received.length;
  answer = 503;
  await eventually(() => server.received.length > before, 5000, 'a failing check');
  answer = 200;
  await eventually(async () => Number((await hub.db('services').where({ slug: 'vezepygame' }).first('health_failures')).health_failures) === 0 && server.received.length > before + 1, 5000, 'recovered');
  t.is((await changes()).length, 1, 'one blip is not an outage');

  // A health URL that does not answer in time counts as failing.
  answer = 'hang';
  await eventually(async () => (await healthOf('vezepygame')) === 'down', 10_000, 'down');
  t.deepEqual((await changes())[1], { slug: 'vezepygame', status: 'active', health: 'down', previous_health: 'up' });
  const graphql = await graphqlPost(hub, '{ services { slug health } }', {}, { authorization: `Bearer ${token}` });
  t.deepEqual((graphql.body.data!.services as Array<{ slug: string; health: string }>).find((s) => s.slug === 'vezepygame'), { slug: 'vezepygame', health: 'DOWN' });
  const metrics = await (await fetch(`${hub.url}/metrics`)).text();
  t.regex(metrics, /uniqverse_service_up\{service="vezepygame"\} 0/);
  t.notRegex(metrics, /uniqverse_service_up\{service="vezepyweb"\}/);

  answer = 204;
  await eventually(async () => (await healthOf('vezepygame')) === 'up', 10_000, 'up again');
  t.deepEqual((await changes()).map((c) => c.health), ['up', 'down', 'up']);
  const audit = (await auditEntriesAfter(hub.db, 0)).filter((e) => e.action === 'service.status_changed');
  t.is(audit.length, 3);
  t.like(audit[1]!.data, { slug: 'vezepygame', health: 'down', previous_health: 'up', via: 'system', task: 'service-health' });
  t.regex(await (await fetch(`${hub.url}/metrics`)).text(), /uniqverse_service_up\{service="vezepygame"\} 1/);

  // No URL any more: unknown again, and not asked.
  await setServiceHealthUrl(hub.db, 'vezepygame', null, cliActor());
  t.is(await healthOf('vezepygame'), 'unknown');
  t.like((await auditEntriesAfter(hub.db, 0)).filter((e) => e.action === 'service.health_url_changed').at(-1)!.data, { slug: 'vezepygame', health_url: null, previous_health_url: server.url });
});

test.serial('a suspended service is not asked; a bad health URL is refused with a message', async (t) => {
  const hub = await startTestHub(t, checkOften);
  await makeService(hub, 'vezepygame');
  const server = await webhookReceiver(() => 200);
  t.teardown(() => server.close());
  await setServiceStatus(hub.db, hub.holder.caches, 'vezepygame', 'suspended', { actorId: null });
  t.deepEqual((await hub.db('outbox').where({ type: 'service.status_changed' }).first('data')).data, { slug: 'vezepygame', status: 'suspended', previous_status: 'active', health: 'unknown' });
  await setServiceHealthUrl(hub.db, 'vezepygame', server.url, cliActor());
  await new Promise((resolve) => setTimeout(resolve, 1000));
  t.is(server.received.length, 0);
  const error = await t.throwsAsync(setServiceHealthUrl(hub.db, 'vezepygame', 'ftp://example.com/health', cliActor()));
  t.like(error, { status: 400 });
});

test.serial('checkers on several instances ask each due service once per interval', async (t) => {
  // A long interval: the hub's own checker takes its first round, the rest find nothing due.
  const hub = await startTestHub(t, { env: { HEALTH_CHECK_INTERVAL_SECONDS: '3600' } });
  const servers = await Promise.all([0, 1, 2].map(() => webhookReceiver(() => 200)));
  t.teardown(() => Promise.all(servers.map((s) => s.close())));
  for (const [i, server] of servers.entries()) {
    await makeService(hub, `svc-${i}-health`);
    await setServiceHealthUrl(hub.db, `svc-${i}-health`, server.url, cliActor());
  }
  const rounds = await Promise.all([0, 1, 2, 3].map(() => checkDueServices(hub.db, { intervalMs: 3_600_000, timeoutMs: 2000 })));
  await eventually(async () => Number((await hub.db('services').where({ health: 'up' }).count<{ n: string }>({ n: '*' }).first())?.n) === 3, 10_000, 'all up');
  t.true(rounds.reduce((a, b) => a + b, 0) <= 3);
  t.deepEqual(servers.map((s) => s.received.length), [1, 1, 1]);
  t.is(await hub.db('outbox').where({ type: 'service.status_changed' }).count<{ n: string }>({ n: '*' }).first().then((r) => Number(r?.n)), 3);
});

test.serial('an administrator sets the health URL in the console (a bad one is refused next to the field); the portal shows the health in words', async (t) => {
  const hub = await startTestHub(t, checkOften);
  await makeService(hub, 'vezepygame', { firstParty: true });
  const server = await webhookReceiver(() => 200);
  t.teardown(() => server.close());
  const admin = await makePerson(hub, { admin: true });
  const agent = await signedInAgent(hub, admin);
  const csrf = await csrfTokenOf(agent, hub);
  const post = (healthUrl: string) => agent.request(`${hub.url}/admin/services/vezepygame/health-url`, { method: 'POST', body: new URLSearchParams({ _csrf: csrf, healthUrl }), headers: { 'content-type': 'application/x-www-form-urlencoded' }, redirect: 'manual' });

  const bad = await post('not a url');
  t.is(bad.status, 400);
  t.regex(await bad.text(), /id="health-url-error"[^>]*>Enter an http\(s\) URL\./);
  const saved = await post(server.url);
  t.is(saved.status, 303);
  t.regex(saved.headers.get('location') ?? '', /notice=health-url-saved/);
  await eventually(async () => (await hub.db('services').where({ slug: 'vezepygame' }).first()).health === 'up', 10_000, 'up');
  t.regex(await (await agent.request(`${hub.url}/admin/services/vezepygame`)).text(), /data-health="up">Running</);
  t.regex(await (await agent.request(`${hub.url}/account/services`)).text(), /data-health="up">Running</);
  t.regex(await (await agent.request(`${hub.url}/account`)).text(), /data-health="up">Running</);
});
