import test from 'ava';
import { makePerson, makeService } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { api, personToken, serviceToken, SseClient } from './helpers.ts';

test('sign-up → default tiers → live entitlement.granted → a service posts email.sent → it is in the activity', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepyemail', { defaultTier: 'basic' });
  await makeService(hub, 'vezepygame', { defaultTier: 'basic' });
  await makeService(hub, 'vezepycgrow', { defaultTier: 'basic' });
  await makeService(hub, 'vezepysports');
  await makeService(hub, 'vezepyweb', { firstParty: true });
  const before = hub.events.live.position;

  // Sign-up writes user.signup; provisioning (a durable subscriber) grants the default tiers.
  const person = await makePerson(hub, { name: 'Ada Lovelace' });
  const token = await personToken(hub, person, 'vezepyweb');

  // The person's app was not connected yet: it resumes from the position it had before sign-up.
  const sse = await SseClient.open(`${hub.url}/hub/events`, { authorization: `Bearer ${token}`, 'last-event-id': before });
  t.teardown(() => sse.close());
  t.is(sse.status, 200, sse.errorBody);
  const signup = await sse.waitForEvent('user.signup');
  t.like(signup.envelope, { type: 'user.signup', user_id: person.id, data: { email: person.email, name: 'Ada Lovelace' } });
  for (const slug of ['vezepyemail', 'vezepygame', 'vezepycgrow']) {
    const granted = await sse.waitForEvent('entitlement.granted', (d) => d.service === slug);
    t.like(granted.envelope.data, { service: slug, tier: 'basic', expires_at: null, email: person.email });
    t.regex(granted.id!, /^\d+-\d+$/);
  }
  t.falsy(sse.events.find((e) => e.type === 'entitlement.granted' && e.envelope.data.service === 'vezepysports'));

  const entitlements = await api(hub, '/hub/entitlements', token);
  t.deepEqual(
    entitlements.body.entitlements.map((e: { service: string; tier: string }) => `${e.service}:${e.tier}`).sort(),
    ['vezepycgrow:basic', 'vezepyemail:basic', 'vezepygame:basic'],
  );

  // VEZEPyEmail posts its own event about the person; the open SSE connection sees it live.
  const mailToken = await serviceToken(hub, 'vezepyemail');
  const posted = await api(hub, '/api/v1/events', mailToken, {
    method: 'POST',
    body: JSON.stringify({ type: 'email.sent', user: person.id, occurred_at: new Date().toISOString(), data: { to: 'grace@example.test', subject: 'Hello' } }),
  });
  t.is(posted.status, 202, JSON.stringify(posted.body));
  const live = await sse.waitForEvent('email.sent');
  t.is(live.envelope.id, posted.body.id);
  t.like(live.envelope, { service: 'vezepyemail', user_id: person.id, data: { subject: 'Hello' } });

  const activity = await api(hub, '/hub/activity', token);
  t.is(activity.status, 200);
  t.is(activity.body.items[0].id, posted.body.id, 'newest first');
  t.like(activity.body.items[0], { type: 'email.sent', service: 'vezepyemail' });
  t.true(activity.body.items.some((e: { type: string }) => e.type === 'user.signup'));
  t.is(sse.events.filter((e) => e.type === 'user.signup').length, 1, 'each event once');
});
