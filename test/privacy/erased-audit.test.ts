import test from 'ava';
import { appendAudit } from '../../src/audit/audit-log.ts';
import { deleteUser } from '../../src/identity/account-status.ts';
import { createUser } from '../../src/identity/users.ts';
import { PasswordHasher } from '../../src/identity/password-hashing.ts';
import { cliWorld, runCli, runJson, withWorldDatabase } from '../helpers/cli.ts';
import { makePerson } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { csrfTokenOf, signedInAgent } from '../portal/portal-helpers.ts';

test('the admin audit page shows a deleted person\'s sealed fields as (erased) and the others\' as they were; Verify counts the erased entries', async (t) => {
  const hub = await startTestHub(t, { env: { TRUST_PROXY: 'true' } });
  const admin = await makePerson(hub, { admin: true, name: 'Grace Admin' });
  const person = await makePerson(hub, { name: 'Hedy Gone' });
  await appendAudit(hub.db, { action: 'signin.succeeded', actorId: person.id, subjectId: person.id, ip: '198.51.100.9', userAgent: 'Gone/1.0', data: { amr: ['pwd'] } });
  await appendAudit(hub.db, { action: 'signin.succeeded', actorId: admin.id, subjectId: admin.id, ip: '203.0.113.10', userAgent: 'Stays/1.0', data: { amr: ['pwd'] } });
  await deleteUser(hub.db, person.id, { actorId: admin.id, ip: '203.0.113.10', userAgent: 'Stays/1.0' });
  const agent = await signedInAgent(hub, admin);

  const html = await (await agent.request(`${hub.url}/admin/audit?action=signin.succeeded`)).text();
  const row = (subject: string) => new RegExp(`<tr>(?:(?!</tr>).)*${subject}(?:(?!</tr>).)*</tr>`, 's').exec(html)?.[0] ?? '';
  t.regex(row(person.id), /<td>\(erased\)<\/td>/, 'the deleted person\'s address reads (erased)');
  t.regex(html, /<td>203\.0\.113\.10<\/td>/, 'the administrator\'s address is still shown');
  t.false(html.includes('198.51.100.9') || html.includes('sealed:v1:'));
  const deletion = await (await agent.request(`${hub.url}/admin/audit?action=user.deleted`)).text();
  t.regex(deletion, /203\.0\.113\.10/, 'the deletion was made by the administrator, from their address, which stays');

  const verified = await agent.request(`${hub.url}/admin/audit/verify`, {
    method: 'POST',
    body: new URLSearchParams({ _csrf: await csrfTokenOf(agent, hub) }),
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'hx-request': 'true' },
  });
  const report = await verified.text();
  t.regex(report, /The chain is intact/);
  t.regex(report, /[1-9]\d* of them are about deleted people: their personal fields are \(erased\)/);
});

test('uniqverse audit verify passes after a deletion and says how many entries are erased', async (t) => {
  const world = await cliWorld(t);
  await runJson(t, world, ['audit', 'verify']);
  await withWorldDatabase(world, async (db) => {
    const user = await createUser(db, new PasswordHasher(), { email: 'gone@example.test', password: 'correct horse battery staple', name: 'Gone Person', emailVerified: true });
    await appendAudit(db, { action: 'signin.succeeded', actorId: user.id, subjectId: user.id, ip: '198.51.100.20', userAgent: 'Gone/1.0', data: {} });
    await deleteUser(db, user.id, { actorId: user.id, ip: '198.51.100.20', userAgent: 'Gone/1.0' });
  });
  const report = await runJson<{ ok: boolean; erased_entries: number }>(t, world, ['audit', 'verify']);
  t.true(report.ok);
  t.true(report.erased_entries >= 3, `signed in, sessions ended, deleted (${report.erased_entries})`);
  const text = await runCli(world, ['audit', 'verify']);
  t.is(text.code, 0);
  t.regex(text.stdout, /of them about deleted people, verified with their personal fields \(erased\)/);
});
