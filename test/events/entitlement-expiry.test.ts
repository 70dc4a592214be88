import test from 'ava';
import { expireEntitlements } from '../../src/catalog/entitlements.ts';
import { createWebhook } from '../../src/events/webhooks.ts';
import { grant, makePerson, makeService } from '../helpers/fixtures.ts';
import { scene, signedInTokens, verifyAccessToken } from '../helpers/oidc.ts';
import { startTestHub } from '../helpers/hub.ts';
import { eventually, webhookReceiver } from './helpers.ts';

const sweepEverySecond = { env: { ENTITLEMENT_EXPIRY_SWEEP_SECONDS: '1' } };

test('an expiry that passes ends the tier: entitlement.expired reaches the service, the row goes, the next token has no tier', async (t) => {
  const s = await scene(t, { hub: sweepEverySecond, slug: 'vezepygame' });
  const receiver = await webhookReceiver();
  t.teardown(() => receiver.close());
  await createWebhook(s.hub.db, s.hub.events.webhookBox, { service: 'vezepygame', url: receiver.url, events: ['entitlement.*'] });
  const expiresAt = new Date(Date.now() + 4000).toISOString();
  await grant(s.hub, s.person.email, 'vezepygame', 'pro', expiresAt);

  const before = await signedInTokens(s, { scope: 'openid read', resource: s.service.resource });
  t.deepEqual((await verifyAccessToken(s.hub, before.access_token, s.service.resource)).payload.entitlements, ['pro']);

  const expired = await eventually(() => receiver.received.map((r) => JSON.parse(r.body)).find((e) => e.type === 'entitlement.expired'), 20_000, 'entitlement.expired');
  t.like(expired, { user_id: s.person.id, service: 'vezepygame', data: { email: s.person.email, name: s.person.name, service: 'vezepygame', tier: 'pro', expires_at: new Date(expiresAt).toISOString() } });
  t.true(new Date(expired.occurred_at as string).getTime() >= new Date(expiresAt).getTime(), 'announced after it passed');
  t.is(await s.hub.db('entitlements').where({ user_id: s.person.id }).first(), undefined);
  const audit = await s.hub.db('audit_log').where({ action: 'entitlement.expired', subject_id: s.person.id }).select('actor_id', 'data');
  t.is(audit.length, 1);
  t.is(audit[0].actor_id, null);
  t.like(audit[0].data, { via: 'system', task: 'entitlement-expiry', service: 'vezepygame', tier: 'pro' });

  const after = await signedInTokens(s, { scope: 'openid read', resource: s.service.resource });
  t.deepEqual((await verifyAccessToken(s.hub, after.access_token, s.service.resource)).payload.entitlements, []);
});

test('sweepers racing over the same expired entitlements announce each expiry exactly once', async (t) => {
  const hub = await startTestHub(t, sweepEverySecond);
  await makeService(hub, 'vezepygame');
  await makeService(hub, 'vezepyemail');
  const past = new Date(Date.now() - 1000).toISOString();
  const future = new Date(Date.now() + 3600_000).toISOString();
  const people = await Promise.all(Array.from({ length: 12 }, () => makePerson(hub)));
  for (const person of people) {
    await grant(hub, person.email, 'vezepygame', 'pro', past);
    await grant(hub, person.email, 'vezepyemail', 'basic', future);
  }
  // The hub's own sweeper runs too; these stand in for more instances on the same database.
  const counts = await Promise.all([0, 1, 2, 3].map(() => expireEntitlements(hub.db, 5)));
  await eventually(async () => Number((await hub.db('entitlements').where('expires_at', '<=', new Date()).count<{ n: string }>({ n: '*' }).first())?.n) === 0, 10_000, 'all expired gone');
  t.true(counts.reduce((a, b) => a + b, 0) <= 12);
  const expired = await hub.db('outbox').where({ type: 'entitlement.expired' }).select('user_id', 'service');
  t.is(expired.length, 12);
  t.deepEqual(expired.map((e: { user_id: string }) => e.user_id).sort(), people.map((p) => p.id).sort());
  t.true(expired.every((e: { service: string }) => e.service === 'vezepygame'));
  t.is(Number((await hub.db('entitlements').where({ service_id: hub.db('services').where({ slug: 'vezepyemail' }).select('id') }).count<{ n: string }>({ n: '*' }).first())?.n), 12);
});
