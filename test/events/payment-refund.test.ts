import test from 'ava';
import { createWebhook } from '../../src/events/webhooks.ts';
import { grant, makePerson, makeService } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { api, eventsSettled, eventually, serviceToken, webhookReceiver } from './helpers.ts';

test('payment.refunded from a trusted service ends the tier it paid for: entitlement.revoked follows; others may not post it', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepypay', { firstParty: true });
  await makeService(hub, 'vezepyemail');
  await makeService(hub, 'vezepygame');
  const person = await makePerson(hub);
  await grant(hub, person.email, 'vezepypay', 'basic');
  await grant(hub, person.email, 'vezepygame', 'basic');
  const receiver = await webhookReceiver();
  t.teardown(() => receiver.close());
  await createWebhook(hub.db, hub.events.webhookBox, { service: 'vezepyemail', url: receiver.url, events: ['entitlement.*'] });
  const pay = await serviceToken(hub, 'vezepypay');
  const post = (token: string, body: unknown) => api(hub, '/api/v1/events', token, { method: 'POST', body: JSON.stringify(body) });
  const tierAtEmail = async () => (await hub.db('entitlements as e').join('services as s', 's.id', 'e.service_id').where({ 's.slug': 'vezepyemail', 'e.user_id': person.id }).first('e.tier'))?.tier as string | undefined;
  const tasksLeft = async () => Number((await hub.db('event_tasks').count('* as n').first())?.n);

  t.is((await post(pay, { type: 'payment.completed', user: person.id, data: { service: 'vezepyemail', tier: 'pro', expires_at: '2031-01-01T00:00:00Z' } })).status, 202);
  await eventually(async () => (await tierAtEmail()) === 'pro', 15_000, 'the paid tier');

  // Bad refunds: 400 that says why, nothing stored.
  const game = await serviceToken(hub, 'vezepygame');
  const untrusted = await post(game, { type: 'payment.refunded', user: person.id, data: { service: 'vezepyemail', tier: 'pro' } });
  t.is(untrusted.status, 400);
  t.regex(untrusted.body.detail, /first-party/);
  t.is((await post(pay, { type: 'payment.refunded', user: person.id, data: { service: 'vezepyemail' } })).status, 400, 'a refund names its tier');
  const nowhere = await post(pay, { type: 'payment.refunded', user: person.id, data: { service: 'nowhere', tier: 'pro' } });
  t.is(nowhere.status, 400);
  t.regex(nowhere.body.detail, /No service "nowhere"/);

  // A refund of a tier the person no longer holds there leaves the current one alone.
  t.is((await post(pay, { type: 'payment.refunded', user: person.id, data: { service: 'vezepyemail', tier: 'gold' } })).status, 202);
  await eventsSettled(hub);
  await eventually(async () => (await tasksLeft()) === 0, 15_000, 'the refund handled');
  t.is(await tierAtEmail(), 'pro');

  const refund = await post(pay, { type: 'payment.refunded', user: person.id, data: { service: 'vezepyemail', tier: 'pro' } });
  t.is(refund.status, 202);
  const revoked = await eventually(() => receiver.received.map((r) => JSON.parse(r.body)).find((e) => e.type === 'entitlement.revoked'), 15_000, 'entitlement.revoked at the service');
  t.like(revoked, { user_id: person.id, service: 'vezepyemail', data: { service: 'vezepyemail', tier: 'pro', expires_at: '2031-01-01T00:00:00.000Z', email: person.email } });
  t.is(await tierAtEmail(), undefined);
  const audit = await hub.db('audit_log').where({ action: 'entitlement.revoked', subject_id: person.id }).select('actor_id', 'data');
  t.is(audit.length, 1);
  t.like(audit[0].data, { via: 'event', service: 'vezepypay', event_id: refund.body.id, tier: 'pro' });
  t.is(Number((await hub.db('outbox').where({ type: 'entitlement.revoked' }).count('* as n').first())?.n), 1);
});
