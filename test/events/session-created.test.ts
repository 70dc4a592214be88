import test from 'ava';
import type { Hub } from '../../src/app/start.ts';
import { makeClient, makePerson, makeService, relyingParty } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { authorize } from '../helpers/oidc.ts';
import { NamedAgent, userAgents } from '../portal/named-agent.ts';

const signIns = async (hub: Hub, userId: string) => ({
  events: (await hub.db('outbox').where({ type: 'session.created', user_id: userId }).orderBy('seq').select('data')).map((r: { data: Record<string, unknown> }) => r.data),
  audited: Number((await hub.db('audit_log').where({ action: 'signin.succeeded', subject_id: userId }).count('* as n').first())?.n),
});

test('each sign-in that starts a session writes session.created; a step-up in the session one is in does not', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepygame');
  const person = await makePerson(hub);
  const client = await makeClient(hub, { service: 'vezepygame', type: 'web' });
  const rp = await relyingParty(hub, client);
  const phone = new NamedAgent(userAgents.iPhone);

  await authorize({ hub, rp, person }, {}, phone);
  let seen = await signIns(hub, person.id);
  t.is(seen.events.length, 1);
  t.deepEqual(seen.events[0], { device: 'Safari on iPhone', device_kind: 'phone', ip: '127.0.0.1', amr: ['pwd'], client_id: client.client_id, service: 'vezepygame', new_device: false }, 'the account\'s first sign-in is not news');

  // prompt=login asks the person in this browser's session to sign in again: the session stays.
  await authorize({ hub, rp, person }, { prompt: 'login' }, phone);
  seen = await signIns(hub, person.id);
  t.is(seen.audited, 2, 'the sign-in happened');
  t.is(seen.events.length, 1, 'but made no session');

  // The portal's own sign-in from another browser is a new session, not a service's.
  const browser = new NamedAgent(userAgents.macChrome);
  const { response } = await browser.follow(`${hub.url}/account/signin`, hub.url);
  const uid = /\/interaction\/([\w-]+)\/login/.exec(await response.text())![1];
  await browser.postForm(`${hub.url}/interaction/${uid}/login`, { email: person.email, password: person.password });
  seen = await signIns(hub, person.id);
  t.is(seen.events.length, 2);
  t.like(seen.events[1], { device: 'Chrome on macOS', device_kind: 'computer', amr: ['pwd'], new_device: true });
  t.false('service' in seen.events[1]! || 'client_id' in seen.events[1]! || 'session_id' in seen.events[1]!);
});

test('a sign-in is recorded in two statements inside its transaction: the audit writers\' lock, then the entry, the browser and session.created together', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepygame');
  const person = await makePerson(hub);
  const rp = await relyingParty(hub, await makeClient(hub, { service: 'vezepygame', type: 'web' }));
  const statements: Array<{ sql: string; tx: unknown }> = [];
  // Other connections' statements (the relay's, say) come in between: the transaction's own are told by its id.
  const record = (query: { sql?: string; __knexTxId?: unknown }) => statements.push({ sql: query.sql ?? '', tx: query.__knexTxId });
  hub.db.on('query', record);
  await authorize({ hub, rp, person }, {}, new NamedAgent(userAgents.iPhone));
  hub.db.off('query', record);

  const lock = statements.find((statement) => statement.sql.includes('audit_lock_and_last'));
  t.truthy(lock?.tx, 'the lock is taken in a transaction');
  const transaction = statements.filter((statement) => statement.tx === lock!.tx).map((statement) => statement.sql);
  t.is(transaction.length, 4, transaction.join('\n'));
  t.regex(transaction[0]!, /^begin/i);
  t.is(transaction[1], lock!.sql);
  for (const table of ['audit_log', 'known_devices', 'outbox']) t.regex(transaction[2]!, new RegExp(`into "?${table}"?`), `${table} is written in the statement after the lock`);
  t.regex(transaction[3]!, /^commit/i);
  t.is((await hub.db('known_devices').where({ user_id: person.id })).length, 1);
});
