import { userInfo } from 'node:os';
import test from 'ava';
import { cliActor } from '../../src/audit/actors.ts';
import { createService } from '../../src/catalog/services.ts';
import { auditEntriesAfter, type AuditRow } from '../helpers/audit.ts';
import { makePerson } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { csrfTokenOf, signedInAgent } from '../portal/portal-helpers.ts';

test('the admin console writes one audit entry per act, with the administrator as actor, through the functions the CLI uses; the audit page tells CLI entries apart', async (t) => {
  const hub = await startTestHub(t);
  const admin = await makePerson(hub, { admin: true, name: 'Grace Admin' });
  const person = await makePerson(hub, { name: 'Hedy Lamarr' });
  const agent = await signedInAgent(hub, admin);
  const token = await csrfTokenOf(agent, hub);
  const post = (path: string, form: Record<string, string>) =>
    agent.request(`${hub.url}${path}`, { method: 'POST', body: new URLSearchParams({ _csrf: token, ...form }), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  let seen = Number((await hub.db('audit_log').max({ seq: 'seq' }).first())?.seq ?? 0);
  const newEntries = async (): Promise<AuditRow[]> => {
    const rows = await auditEntriesAfter(hub.db, seen);
    seen = rows.at(-1)?.seq ?? seen;
    for (const row of rows) {
      t.is(row.actor_id, admin.id, `${row.action}: the administrator did it`);
      t.truthy(row.ip, `${row.action}: from their address`);
    }
    return rows;
  };

  const registered = await post('/admin/services', { slug: 'vezepychess', name: 'VEZEPyChess', url: 'https://chess.veze.test' });
  t.is(registered.status, 303);
  const service = await newEntries();
  t.deepEqual(service.map((e) => e.action), ['service.registered']);
  t.like(service[0]!.data, { slug: 'vezepychess', first_party: false });

  const client = await post('/admin/services/vezepychess/clients', { type: 'web', redirectUris: 'https://chess.veze.test/callback' });
  t.is(client.status, 201);
  const secret = /id="client-secret"[^>]*>([^<]+)</.exec(await client.text())?.[1];
  t.true((secret?.length ?? 0) >= 32, 'the secret is shown once, on this page');
  const clientEntries = await newEntries();
  t.deepEqual(clientEntries.map((e) => e.action), ['client.registered']);
  t.like(clientEntries[0]!.data, { service: 'vezepychess', type: 'web' });
  t.false(JSON.stringify(clientEntries).includes(secret!), 'never the secret');

  t.is((await post(`/admin/users/${person.id}/entitlements`, { service: 'vezepychess', tier: 'pro' })).status, 303);
  const granted = await newEntries();
  t.deepEqual(granted.map((e) => e.action), ['entitlement.granted']);
  t.is(granted[0]!.subject_id, person.id);
  t.is((await post(`/admin/users/${person.id}/entitlements`, { service: 'vezepychess', tier: 'pro' })).status, 303);
  t.deepEqual((await newEntries()).map((e) => e.action), ['entitlement.confirmed']);

  t.is((await post('/admin/keys/rotate', {})).status, 303);
  const rotated = await newEntries();
  t.deepEqual(rotated.map((e) => e.action), ['keys.rotated']);
  t.is((rotated[0]!.data.keys as unknown[]).length, 3);

  // What `uniqverse services create` does, in this process: the same function, the operator as actor.
  await createService(hub.db, { slug: 'vezepychat', name: 'VEZEPyChat' }, cliActor());
  const page = await (await agent.request(`${hub.url}/admin/audit?action=service.registered`)).text();
  const rows = [...page.matchAll(/<tr>\s*<td>\d+<\/td>[\s\S]*?<\/tr>/g)].map((m) => m[0].replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim());
  t.is(rows.length, 2);
  t.regex(rows[0]!, new RegExp(`service\\.registered CLI \\(${userInfo().username}\\)`), 'the newest: the operator at the shell');
  t.regex(rows[1]!, new RegExp(`service\\.registered ${admin.email.replace(/[.+]/g, '\\$&')}`), 'the administrator, by email');
});
