import test from 'ava';
import { holdSighting, holdWrite, sendHeldWrites, settleHeldWrites, takeHeldSighting } from '../../src/oidc/held-writes.ts';
import { startTestHub } from '../helpers/hub.ts';
import { authorize, sceneOn } from '../helpers/oidc.ts';

test('a sign-in\'s authorization code and the session\'s sighting go to the database in one statement with the session the provider saves as it answers', async (t) => {
  const s = await sceneOn(await startTestHub(t));
  const writes: string[][] = [];
  const record = (query: { sql?: string; bindings?: unknown[] }) => {
    const sql = query.sql ?? '';
    if (/insert into "?session_sightings/.test(sql) && !/oidc_models/.test(sql)) writes.push(['sighting alone']);
    if (!/insert into "oidc_models"/.test(sql)) return;
    const models = [...JSON.stringify(query.bindings ?? []).matchAll(/\\"model\\":\\"(\w+)\\"/g)].map((match) => match[1]!);
    if (/insert into session_sightings/.test(sql)) models.push('sighting');
    writes.push(models.sort());
  };
  s.hub.db.on('query', record);
  const { callback } = await authorize(s);
  s.hub.db.off('query', record);
  t.truthy(callback.searchParams.get('code'));
  t.true(writes.some((models) => models.includes('AuthorizationCode') && models.includes('Session') && models.includes('sighting')), JSON.stringify(writes));
  t.is(writes.filter((models) => models.includes('AuthorizationCode')).length, 1);
  t.is(writes.filter((models) => models.includes('sighting') || models.includes('sighting alone')).length, 1, JSON.stringify(writes));
  // And the code is there to be redeemed as soon as the answer is out, its session's sighting with it.
  t.is((await s.hub.db('oidc_models').where({ model: 'AuthorizationCode' })).length, 1);
  const session = await s.hub.db('oidc_models').where({ model: 'Session' }).whereNotNull('account_id').first('uid', 'account_id');
  const sighting = await s.hub.db('session_sightings').where({ session_uid: session.uid }).first();
  t.is(sighting?.user_id, session.account_id);
  t.truthy(sighting?.ip);
});

test('held writes go in the turn of the next write, and settling waits for each and fails when one did', async (t) => {
  const request = {};
  const sent: string[] = [];
  let finish!: () => void;
  holdWrite(request, async () => {
    sent.push('code');
    await new Promise<void>((resolve) => (finish = resolve));
  });
  t.deepEqual(sent, [], 'held');
  sendHeldWrites(request);
  sent.push('session');
  t.deepEqual(sent, ['code', 'session'], 'sent before the write that comes after it, in the same turn');
  let settled = false;
  const settling = settleHeldWrites(request).then(() => (settled = true));
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.false(settled, 'the answer waits for the held write');
  finish();
  await settling;
  t.true(settled);

  const failing = {};
  holdWrite(failing, () => Promise.reject(new Error('the database refused it')));
  await t.throwsAsync(settleHeldWrites(failing), { message: 'the database refused it' });
  await t.notThrowsAsync(settleHeldWrites({}), 'nothing held, nothing to wait for');
});

test('a held sighting is taken only by the save of its own session and person, and is written alone when the request saves none', async (t) => {
  const sighting = { uid: 'session-uid', userId: 'person', userAgent: 'a browser', ip: '192.0.2.1' };
  const request = {};
  let alone = 0;
  holdSighting(request, sighting, () => alone++);
  t.is(takeHeldSighting(request, 'another-session', 'person'), undefined);
  t.is(takeHeldSighting(request, 'session-uid', 'someone else'), undefined);
  t.is(takeHeldSighting({}, 'session-uid', 'person'), undefined, 'another request');
  t.deepEqual(takeHeldSighting(request, 'session-uid', 'person'), sighting);
  t.is(takeHeldSighting(request, 'session-uid', 'person'), undefined, 'taken once');
  await settleHeldWrites(request);
  t.is(alone, 0, 'taken: not written again');

  const unsaved = {};
  holdSighting(unsaved, sighting, () => alone++);
  await settleHeldWrites(unsaved);
  t.is(alone, 1, 'no session saved: written alone as the request settles');
  await settleHeldWrites(unsaved);
  t.is(alone, 1, 'once');
});
