import test from 'ava';
import { holdWrite, sendHeldWrites, settleHeldWrites } from '../../src/oidc/held-writes.ts';
import { startTestHub } from '../helpers/hub.ts';
import { authorize, sceneOn } from '../helpers/oidc.ts';

test('a sign-in\'s authorization code goes to the database in one statement with the session the provider saves as it answers', async (t) => {
  const s = await sceneOn(await startTestHub(t));
  const writes: string[][] = [];
  const record = (query: { sql?: string; bindings?: unknown[] }) => {
    if (!/insert into "oidc_models"/.test(query.sql ?? '')) return;
    const models = [...JSON.stringify(query.bindings ?? []).matchAll(/\\"model\\":\\"(\w+)\\"/g)].map((match) => match[1]!);
    writes.push(models.sort());
  };
  s.hub.db.on('query', record);
  const { callback } = await authorize(s);
  s.hub.db.off('query', record);
  t.truthy(callback.searchParams.get('code'));
  t.true(writes.some((models) => models.includes('AuthorizationCode') && models.includes('Session')), JSON.stringify(writes));
  t.is(writes.filter((models) => models.includes('AuthorizationCode')).length, 1);
  // And the code is there to be redeemed as soon as the answer is out.
  t.is((await s.hub.db('oidc_models').where({ model: 'AuthorizationCode' })).length, 1);
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
