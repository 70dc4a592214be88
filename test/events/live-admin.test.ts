import test from 'ava';
import { grant, makePerson, makeService } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { signedInAgent } from '../portal/portal-helpers.ts';
import { eventsSettled, eventually, personToken, SseClient, WsClient } from './helpers.ts';

/** /hub/events?all=true shows every person's events: only the admin console's own session, with its step-up. */
test('all=true: refused to any access token, to a stale sign-in and to one without the second factor; the fresh console session gets everything', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepygame');
  await makeService(hub, 'vezepyweb', { firstParty: true });
  const admin = await makePerson(hub, { admin: true, name: 'Root' });
  const bob = await makePerson(hub, { name: 'Bob' });
  const everything = `${hub.url}/hub/events?all=true`;

  // An admin's access token, held by a device app or a service: never enough for everything.
  const adminToken = await personToken(hub, admin, 'vezepyweb');
  const byToken = await SseClient.open(everything, { authorization: `Bearer ${adminToken}` });
  t.is(byToken.status, 403);
  t.regex(JSON.parse(byToken.errorBody).detail, /admin console/);
  const wsByToken = await t.throwsAsync(WsClient.open(everything, { authorization: `Bearer ${adminToken}` }));
  t.is((wsByToken as Error & { status: number }).status, 403);
  // The same token still listens to the admin's own events.
  const own = await SseClient.open(`${hub.url}/hub/events`, { authorization: `Bearer ${adminToken}` });
  t.teardown(() => own.close());
  t.is(own.status, 200);

  // A person's portal session is not an admin's.
  const bobAgent = await signedInAgent(hub, bob);
  t.is((await SseClient.open(everything, { cookie: bobAgent.cookieHeader() })).status, 403);

  const agent = await signedInAgent(hub, admin);
  const cookie = { cookie: agent.cookieHeader() };
  const session = () => hub.db('oidc_models').where({ model: 'Session', account_id: admin.id });
  const age = (seconds: number) => session().update({ payload: hub.db.raw(`jsonb_set(payload, '{loginTs}', to_jsonb(?::bigint))`, [Math.floor(Date.now() / 1000) - seconds]) });

  await age(901);
  const stale = await SseClient.open(everything, cookie);
  t.is(stale.status, 403);
  t.regex(JSON.parse(stale.errorBody).detail, /15 minutes/);
  const wsStale = await t.throwsAsync(WsClient.open(everything, { ...cookie, origin: hub.url }));
  t.is((wsStale as Error & { status: number }).status, 403);

  // An admin who has a second factor must have used it for this sign-in.
  await age(30);
  await hub.db('totp_factors').insert({ user_id: admin.id, secret_sealed: 'not-used-here', confirmed_at: new Date() });
  const passwordOnly = await SseClient.open(everything, cookie);
  t.is(passwordOnly.status, 403);
  t.regex(JSON.parse(passwordOnly.errorBody).detail, /second factor/);

  await session().update({ payload: hub.db.raw(`jsonb_set(payload, '{amr}', '["pwd","otp"]'::jsonb)`) });
  await eventsSettled(hub);
  const sse = await SseClient.open(everything, cookie);
  t.teardown(() => sse.close());
  t.is(sse.status, 200);
  await sse.waitFor((m) => m.event === 'ready');
  const ws = await WsClient.open(everything, { ...cookie, origin: hub.url });
  t.teardown(() => ws.close());
  await grant(hub, bob.email, 'vezepygame', 'pro');
  await sse.waitForEvent('entitlement.granted', (d) => d.email === bob.email);

  // The stream lasts as long as the step-up: 15 minutes after the sign-in it ends, as /admin would send the admin to sign in.
  await age(896);
  const ending = await SseClient.open(everything, cookie);
  t.teardown(() => ending.close());
  t.is(ending.status, 200);
  await ending.waitFor((m) => m.event === 'revoked', 15_000, 'the stream to end with the step-up');
  await eventually(() => ending.closed, 5000, 'closed');
  t.false(sse.closed, 'the one opened with the old sign-in time has its own end, 15 minutes after its sign-in');
});
