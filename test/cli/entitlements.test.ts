import test from 'ava';
import type { Hub } from '../../src/app/start.ts';
import { grant, makeClient, makePerson, makeService, relyingParty, type Person } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { closeOnce, signedInTokens, verifyAccessToken } from '../helpers/oidc.ts';
import { cliWorld, runCli, runJson } from '../helpers/cli.ts';

/** The tiers in a fresh access token the person gets for the service. */
async function tiersInNewToken(hub: Hub, person: Person, client: { client_id: string; client_secret?: string }, resource: string): Promise<unknown> {
  const rp = await relyingParty(hub, client);
  const tokens = await signedInTokens({ hub, rp, person }, { scope: 'openid read', resource });
  return (await verifyAccessToken(hub, tokens.access_token, resource)).payload.entitlements;
}

test('entitlements revoke ends the tier: announced, audited as the operator, and gone from the next token', async (t) => {
  t.timeout(300_000);
  const world = await cliWorld(t);
  // The embedded database admits one process at a time: the hub stops while the CLI runs.
  const first = closeOnce(await startTestHub(t, { database: world.database, secret: world.secret }));
  const person = await makePerson(first);
  const service = await makeService(first, 'vezepygame');
  const client = await makeClient(first, { service: service.slug });
  await grant(first, person.email, service.slug, 'pro', '2031-01-01T00:00:00Z');
  t.deepEqual(await tiersInNewToken(first, person, client, service.resource), ['pro']);
  await first.close();

  const revoked = await runJson(t, world, ['entitlements', 'revoke', '--email', person.email, '--service', 'vezepygame']);
  t.deepEqual(revoked, { email: person.email, service: 'vezepygame', tier: 'pro', expires_at: '2031-01-01T00:00:00.000Z', change: 'revoked' });

  const again = await runCli(world, ['entitlements', 'revoke', '--email', person.email, '--service', 'vezepygame']);
  t.is(again.code, 1);
  t.is(again.stderr.trim().split('\n').at(-1), `uniqverse: ${person.email} holds no tier at vezepygame.`);
  const nobody = await runCli(world, ['entitlements', 'revoke', '--email', 'nobody@example.test', '--service', 'vezepygame']);
  t.is(nobody.code, 1);
  t.regex(nobody.stderr, /^uniqverse: No user with email nobody@example\.test\.$/m);
  const missing = await runCli(world, ['entitlements', 'revoke', '--email', person.email]);
  t.is(missing.code, 2);
  t.regex(missing.stderr, /missing --service/);

  const hub = await startTestHub(t, { database: world.database, secret: world.secret });
  t.deepEqual(await tiersInNewToken(hub, person, client, service.resource), []);
  t.is(await hub.db('entitlements').where({ user_id: person.id }).first(), undefined);
  const events = await hub.db('outbox').where({ user_id: person.id, type: 'entitlement.revoked' }).select('service', 'data');
  t.deepEqual(events, [{ service: 'vezepygame', data: { email: person.email, name: person.name, service: 'vezepygame', tier: 'pro', expires_at: '2031-01-01T00:00:00.000Z' } }]);
  const audit = await hub.db('audit_log').where({ action: 'entitlement.revoked', subject_id: person.id }).select('actor_id', 'data');
  t.is(audit.length, 1);
  t.is(audit[0].actor_id, null);
  t.like(audit[0].data, { service: 'vezepygame', tier: 'pro', via: 'cli' });
});
