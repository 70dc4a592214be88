import test from 'ava';
import { createWebhook } from '../../src/events/webhooks.ts';
import type { Hub } from '../../src/app/start.ts';
import { deleteUser } from '../../src/identity/account-status.ts';
import { grant, makeClient, makePerson, makeService, relyingParty, type Person } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { authorize } from '../helpers/oidc.ts';
import { NamedAgent, userAgents } from '../portal/named-agent.ts';
import { eventually, webhookReceiver, type ReceivedWebhook } from './helpers.ts';

const envelope = (r: ReceivedWebhook) => JSON.parse(r.body) as { id: string; type: string; user_id?: string; data: Record<string, unknown> };

/** Signs the person in at a service (sign-in pages, consent): the service now holds a grant of theirs. */
async function signInAt(hub: Hub, person: Person, service: string): Promise<NamedAgent> {
  const client = await makeClient(hub, { service, type: 'web' });
  const agent = new NamedAgent(userAgents.macChrome);
  await authorize({ hub, rp: await relyingParty(hub, client), person }, {}, agent);
  return agent;
}

async function portalPost(hub: Hub, agent: NamedAgent, path: string, form: Record<string, string>): Promise<number> {
  const { response } = await agent.follow(`${hub.url}/account`, hub.url);
  const csrf = /<meta name="csrf-token" content="([^"]+)"/.exec(await response.text())?.[1];
  if (!csrf) throw new Error('the agent is not signed in to the portal');
  return (await agent.postForm(`${hub.url}${path}`, { ...form, _csrf: csrf })).status;
}

const relayed = (hub: Hub) =>
  eventually(async () => Number((await hub.db('outbox').whereNull('published_at').count('* as n').first())?.n) === 0, 15_000, 'the relay to catch up');

test('user.deleted goes only to the services the person dealt with, each as their privacy choice allowed; a service they never used hears nothing', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepygame');
  await makeService(hub, 'vezepyweb');
  await makeService(hub, 'vezepyemail');
  const [atGame, atWeb, atMail] = await Promise.all([webhookReceiver(), webhookReceiver(), webhookReceiver()]);
  t.teardown(() => Promise.all([atGame.close(), atWeb.close(), atMail.close()]));
  await createWebhook(hub.db, hub.events.webhookBox, { service: 'vezepygame', url: atGame.url });
  await createWebhook(hub.db, hub.events.webhookBox, { service: 'vezepyweb', url: atWeb.url });
  const mail = await createWebhook(hub.db, hub.events.webhookBox, { service: 'vezepyemail', url: atMail.url });

  const person = await makePerson(hub, { name: 'Grace Hopper' });
  const bystander = await makePerson(hub);
  // The game: signed in there (a grant, no entitlement), email kept from it on the privacy page.
  const browser = await signInAt(hub, person, 'vezepygame');
  t.is(await portalPost(hub, browser, '/account/privacy/services/vezepygame', { profile: 'on', activity: 'on' }), 303);
  // The web service: an entitlement, everything shared. The mail service: never used by the person.
  await grant(hub, person.email, 'vezepyweb', 'basic');
  await grant(hub, bystander.email, 'vezepyemail', 'basic');
  await relayed(hub);

  await deleteUser(hub.db, person.id);
  const deletedAt = (receiver: typeof atGame) => receiver.received.map(envelope).find((e) => e.type === 'user.deleted' && e.user_id === person.id);
  const atGameEvent = await eventually(() => deletedAt(atGame), 15_000, 'user.deleted at the game');
  t.deepEqual(atGameEvent.data, {}, 'only the id: the service knows whom it names');
  const atWebEvent = await eventually(() => deletedAt(atWeb), 15_000, 'user.deleted at the web service');
  t.deepEqual(atWebEvent.data, {});

  await relayed(hub);
  t.falsy(await hub.db('webhook_deliveries').where({ webhook_id: mail.id, event_type: 'user.deleted' }).first(), 'nothing queued for the service the person never used');
  t.falsy(deletedAt(atMail));
  t.false(atMail.received.some((r) => r.body.includes(person.email) || r.body.includes('Grace Hopper')), 'the mail service never saw the person');
  const kept = await hub.db('webhook_deliveries').whereRaw('payload::text ilike ?', [`%${person.email}%`]).orWhereRaw('payload::text ilike ?', ['%Grace Hopper%']);
  t.deepEqual(kept, [], 'the delivery records of earlier events about the person keep neither address nor name');
  const row = await hub.db('outbox').where({ type: 'user.deleted', user_id: person.id }).first('data');
  t.false('audience' in row.data, 'the audience is kept beside the event, not in what consumers see');
});

test('an account deleted with no service at all: user.deleted reaches no service', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepygame');
  const receiver = await webhookReceiver();
  t.teardown(() => receiver.close());
  const hook = await createWebhook(hub.db, hub.events.webhookBox, { service: 'vezepygame', url: receiver.url });
  const person = await makePerson(hub);
  await deleteUser(hub.db, person.id);
  await relayed(hub);
  t.falsy(await hub.db('webhook_deliveries').where({ webhook_id: hook.id, event_type: 'user.deleted' }).first());
});
