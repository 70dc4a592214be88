import { userInfo } from 'node:os';
import test from 'ava';
import { cliActor } from '../../src/audit/actors.ts';
import type { CliContext } from '../../src/cli/context.ts';
import { webhooksDelete, webhooksDisable, webhooksEnable } from '../../src/cli/webhooks.ts';
import { createWebhook, setWebhookEnabled } from '../../src/events/webhooks.ts';
import { updateRedirectUris } from '../../src/catalog/clients.ts';
import type { Hub } from '../../src/app/start.ts';
import { auditEntriesAfter } from '../helpers/audit.ts';
import { makeClient, makePerson, makeService, validateClientMetadata } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { csrfTokenOf, signedInAgent } from '../portal/portal-helpers.ts';

const lastSeq = async (hub: Hub) => Number((await hub.db('audit_log').max({ seq: 'seq' }).first())?.seq ?? 0);
const metadataOf = async (hub: Hub, clientId: string) => ((await hub.db('clients').where({ client_id: clientId }).first('metadata')) as { metadata: Record<string, unknown> }).metadata;

/** Runs a CLI command in this process, as `uniqverse` would with the hub's configuration. */
const cliContext = (hub: Hub) => ({ config: hub.config, db: hub.db, secrets: hub.secrets, hasher: hub.hasher, migrated: [] }) as unknown as CliContext;

test('client.updated: the admin console\'s redirect-URI change is audited with the administrator and the URIs before and after, in the change\'s own transaction', async (t) => {
  const hub = await startTestHub(t);
  const admin = await makePerson(hub, { admin: true });
  await makeService(hub, 'vezepychess');
  const client = await makeClient(hub, { service: 'vezepychess', redirectUris: ['https://chess.veze.test/callback'], postLogoutRedirectUris: [] });
  const agent = await signedInAgent(hub, admin);
  const token = await csrfTokenOf(agent, hub);
  const save = (uris: string) =>
    agent.request(`${hub.url}/admin/services/vezepychess/clients/${client.client_id}/redirect-uris`, {
      method: 'POST',
      body: new URLSearchParams({ _csrf: token, redirectUris: uris, postLogoutRedirectUris: '' }),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });

  let seen = await lastSeq(hub);
  t.is((await save('https://chess.veze.test/callback\nhttps://chess.veze.test/other')).status, 303);
  const [entry, ...more] = await auditEntriesAfter(hub.db, seen);
  t.deepEqual(more, []);
  t.like(entry, { action: 'client.updated', actor_id: admin.id });
  t.truthy(entry!.ip);
  t.like(entry!.data, {
    client_id: client.client_id,
    redirect_uris: ['https://chess.veze.test/callback', 'https://chess.veze.test/other'],
    previous_redirect_uris: ['https://chess.veze.test/callback'],
  });
  seen = entry!.seq;

  // Refused input: a clear 400, nothing changed, nothing audited.
  t.is((await save('not a uri')).status, 400);
  t.deepEqual(await auditEntriesAfter(hub.db, seen), []);

  // When the audit entry cannot be written, the change does not happen either.
  await hub.db.raw(`create function refuse_client_audit() returns trigger language plpgsql as $$
    begin if new.action = 'client.updated' then raise exception 'the audit log is unavailable'; end if; return new; end $$`);
  await hub.db.raw('create trigger refuse_client_audit before insert on audit_log for each row execute function refuse_client_audit()');
  t.true((await save('https://attacker.example/callback')).status >= 500);
  t.deepEqual((await metadataOf(hub, client.client_id)).redirect_uris, ['https://chess.veze.test/callback', 'https://chess.veze.test/other'], 'no unaudited change');
  await hub.db.raw('drop trigger refuse_client_audit on audit_log');

  // The same domain function from the shell: the operator is the actor.
  await updateRedirectUris(hub.db, (m) => validateClientMetadata(hub, m), client.client_id, ['https://chess.veze.test/cli'], undefined, cliActor());
  const [fromCli] = await auditEntriesAfter(hub.db, seen);
  t.like(fromCli, { action: 'client.updated', actor_id: null, ip: null });
  t.like(fromCli!.data, { client_id: client.client_id, redirect_uris: ['https://chess.veze.test/cli'], via: 'cli', os_user: userInfo().username });
});

test('webhook disable, enable and delete are audited, in the change\'s transaction: from the CLI as the operator, or with an administrator as actor; never the secret or the URL\'s path', async (t) => {
  const hub = await startTestHub(t);
  const admin = await makePerson(hub, { admin: true });
  await makeService(hub, 'vezepyemail');
  const hook = await createWebhook(hub.db, hub.events.webhookBox, { service: 'vezepyemail', url: 'https://hooks.example.test/in/p4th-token?key=qu3ry-token' });
  const ctx = cliContext(hub);
  let seen = await lastSeq(hub);
  const next = async () => {
    const entries = await auditEntriesAfter(hub.db, seen);
    seen = entries.at(-1)?.seq ?? seen;
    for (const entry of entries) {
      const text = JSON.stringify(entry);
      for (const secret of [hook.secret, 'p4th-token', 'qu3ry-token']) t.false(text.includes(secret), `${entry.action} holds ${secret}`);
    }
    return entries;
  };
  const described = { webhook_id: hook.id, service: 'vezepyemail', url_origin: 'https://hooks.example.test' };

  await webhooksDisable.run(ctx, { webhook: hook.id });
  t.is((await hub.db('webhooks').where({ id: hook.id }).first('status')).status, 'disabled');
  const disabled = await next();
  t.deepEqual(disabled.map((e) => e.action), ['webhook.disabled']);
  t.like(disabled[0], { actor_id: null, ip: null });
  t.like(disabled[0]!.data, { ...described, via: 'cli', os_user: userInfo().username });

  await setWebhookEnabled(hub.db, hook.id, true, { actorId: admin.id, ip: '192.0.2.10', userAgent: 'Firefox' });
  const enabled = await next();
  t.deepEqual(enabled.map((e) => e.action), ['webhook.enabled']);
  t.like(enabled[0], { actor_id: admin.id, ip: '192.0.2.10', data: described });

  // Unknown or malformed ids are refused and leave no entry.
  await t.throwsAsync(webhooksDelete.run(ctx, { webhook: '00000000-0000-4000-8000-000000000000' }), { message: /No webhook/ });
  await t.throwsAsync(webhooksEnable.run(ctx, { webhook: 'not-an-id' }), { message: /webhook id/ });
  t.deepEqual(await next(), []);

  await webhooksDelete.run(ctx, { webhook: hook.id });
  t.falsy(await hub.db('webhooks').where({ id: hook.id }).first());
  const deleted = await next();
  t.deepEqual(deleted.map((e) => e.action), ['webhook.deleted']);
  t.like(deleted[0]!.data, { ...described, via: 'cli' });
});
