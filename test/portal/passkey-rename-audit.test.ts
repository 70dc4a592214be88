import { randomBytes } from 'node:crypto';
import test from 'ava';
import { passkeyQueries } from '../../src/queries/passkeys.ts';
import { auditEntriesAfter } from '../helpers/audit.ts';
import { makePerson } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { csrfTokenOf, signedInAgent } from './portal-helpers.ts';

test('renaming a passkey on the Security page is audited (passkey.renamed: the person, their address, the old and new name); someone else\'s passkey is refused and nothing is written', async (t) => {
  const hub = await startTestHub(t);
  const person = await makePerson(hub);
  const other = await makePerson(hub);
  // A stored credential, as registration leaves it (the browser ceremony is tested in passkey-browser.test.ts).
  const stored = (owner: string, name: string) => {
    const id = randomBytes(16).toString('base64url');
    return passkeyQueries.insert(hub.db, { id, user_id: owner, public_key: randomBytes(77), counter: 0, transports: ['internal'], device_type: 'multiDevice', backed_up: true, aaguid: null, name }).then(() => id);
  };
  // Signed in first: with a passkey the account would ask for it as a second factor.
  const agent = await signedInAgent(hub, person);
  const mine = await stored(person.id, 'Laptop');
  const theirs = await stored(other.id, 'Their phone');
  const token = await csrfTokenOf(agent, hub);
  const rename = (id: string, name: string) =>
    agent.request(`${hub.url}/account/security/passkeys/${encodeURIComponent(id)}/name`, {
      method: 'POST',
      body: new URLSearchParams({ _csrf: token, name }),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
  const seen = Number((await hub.db('audit_log').max({ seq: 'seq' }).first())?.seq ?? 0);

  t.is((await rename(mine, '  Work laptop ')).status, 303);
  const [entry, ...more] = await auditEntriesAfter(hub.db, seen);
  t.deepEqual(more, []);
  t.like(entry, { action: 'passkey.renamed', actor_id: person.id, subject_id: person.id, data: { passkey_id: mine, name: 'Work laptop', previous_name: 'Laptop' } });
  t.truthy(entry!.ip);

  t.is((await rename(theirs, 'Mine now')).status, 404);
  t.is((await rename(mine, '')).status, 400);
  t.is((await rename('x'.repeat(5000), 'Long')).status, 404);
  t.deepEqual((await auditEntriesAfter(hub.db, entry!.seq)).map((e) => e.action), []);
  t.is((await hub.db('passkeys').where({ id: theirs }).first('name')).name, 'Their phone');
});
