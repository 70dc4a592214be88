import test from 'ava';
import * as oidc from 'openid-client';
import type { Hub } from '../../src/app/start.ts';
import { makeClient, makePerson, makeService, relyingParty, type Person } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { signedInTokens, verifyAccessToken } from '../helpers/oidc.ts';
import { api, hubAudience } from '../events/helpers.ts';
import { checkResponse } from './openapi-check.ts';

const template = '/api/v1/services/{service}/entitlements/{sub}';

/** A service's client-credentials token for the hub with the given scopes. */
async function tokenFor(hub: Hub, client: { client_id: string; client_secret?: string }, scope: string): Promise<string> {
  return (await oidc.clientCredentialsGrant(await relyingParty(hub, client), { resource: hubAudience(hub), scope })).access_token;
}

async function call(t: Parameters<typeof checkResponse>[0], hub: Hub, method: 'PUT' | 'DELETE', service: string, sub: string, token: string, body?: unknown) {
  const response = await api(hub, `/api/v1/services/${service}/entitlements/${sub}`, token, { method, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  checkResponse(t, template, method, response);
  return response;
}

async function tiersInNewToken(hub: Hub, person: Person, client: { client_id: string; client_secret?: string }, resource: string): Promise<unknown> {
  const tokens = await signedInTokens({ hub, rp: await relyingParty(hub, client), person }, { scope: 'openid read', resource });
  return (await verifyAccessToken(hub, tokens.access_token, resource)).payload.entitlements;
}

test('a service sets, changes and ends a person\'s tier at itself with its client credentials; tokens issued after carry the change', async (t) => {
  const hub = await startTestHub(t);
  const game = await makeService(hub, 'vezepygame');
  await makeService(hub, 'vezepyemail');
  const person = await makePerson(hub);
  const client = await makeClient(hub, { service: 'vezepygame' });
  const token = await tokenFor(hub, client, 'entitlements');

  const granted = await call(t, hub, 'PUT', 'vezepygame', person.id, token, { tier: 'pro', expires_at: '2031-01-01T00:00:00Z' });
  t.is(granted.status, 200);
  t.deepEqual(granted.body, { sub: person.id, service: 'vezepygame', tier: 'pro', expires_at: '2031-01-01T00:00:00.000Z', change: 'granted' });
  t.deepEqual(await tiersInNewToken(hub, person, client, game.resource), ['pro']);
  t.is((await call(t, hub, 'PUT', 'vezepygame', person.id, token, { tier: 'pro', expires_at: '2031-01-01T00:00:00Z' })).body.change, 'unchanged');
  const changed = await call(t, hub, 'PUT', 'vezepygame', person.id, token, { tier: 'gold', expires_at: null });
  t.like(changed.body, { tier: 'gold', expires_at: null, change: 'changed' });
  t.deepEqual(await tiersInNewToken(hub, person, client, game.resource), ['gold']);

  const ended = await call(t, hub, 'DELETE', 'vezepygame', person.id, token);
  t.is(ended.status, 204);
  t.deepEqual(await tiersInNewToken(hub, person, client, game.resource), []);
  const again = await call(t, hub, 'DELETE', 'vezepygame', person.id, token);
  t.is(again.status, 404);
  t.regex(again.body.detail, /holds no tier at vezepygame/);

  const events = await hub.db('outbox').where({ user_id: person.id }).whereLike('type', 'entitlement.%').orderBy('seq').select('type', 'service', 'data');
  t.deepEqual(events.map((e: { type: string }) => e.type), ['entitlement.granted', 'entitlement.changed', 'entitlement.revoked']);
  t.like(events[2].data, { service: 'vezepygame', tier: 'gold', expires_at: null, email: person.email });
  const audit = await hub.db('audit_log').where({ subject_id: person.id }).whereLike('action', 'entitlement.%').orderBy('seq').select('action', 'actor_id', 'data');
  t.deepEqual(audit.map((a: { action: string }) => a.action), ['entitlement.granted', 'entitlement.confirmed', 'entitlement.changed', 'entitlement.revoked']);
  for (const entry of audit) {
    t.is(entry.actor_id, null);
    t.like(entry.data, { via: 'api', service: 'vezepygame', client_id: client.client_id });
  }
});

test('a service cannot touch another service\'s tiers, nor act without the entitlements scope; bad input is a 4xx that says why', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepygame');
  await makeService(hub, 'vezepyemail');
  const person = await makePerson(hub);
  const client = await makeClient(hub, { service: 'vezepygame' });
  const token = await tokenFor(hub, client, 'entitlements');

  const elsewhere = await call(t, hub, 'PUT', 'vezepyemail', person.id, token, { tier: 'pro' });
  t.is(elsewhere.status, 403);
  t.regex(elsewhere.body.detail, /only at vezepygame/);
  t.is((await call(t, hub, 'DELETE', 'vezepyemail', person.id, token)).status, 403);

  const eventsOnly = await call(t, hub, 'PUT', 'vezepygame', person.id, await tokenFor(hub, client, 'events'), { tier: 'pro' });
  t.is(eventsOnly.status, 403);
  t.regex(eventsOnly.headers.get('www-authenticate') ?? '', /insufficient_scope/);
  t.is((await call(t, hub, 'PUT', 'vezepygame', person.id, '', { tier: 'pro' })).status, 401);

  const badTier = await call(t, hub, 'PUT', 'vezepygame', person.id, token, { tier: 'Not A Tier' });
  t.is(badTier.status, 400);
  t.truthy(badTier.body.errors?.tier);
  const badExpiry = await call(t, hub, 'PUT', 'vezepygame', person.id, token, { tier: 'pro', expires_at: 'tomorrow' });
  t.is(badExpiry.status, 400);
  t.truthy(badExpiry.body.errors?.expires_at);
  t.is((await call(t, hub, 'PUT', 'vezepygame', 'not-a-sub', token, { tier: 'pro' })).status, 404);
  t.is((await call(t, hub, 'PUT', 'vezepygame', '00000000-0000-4000-8000-000000000000', token, { tier: 'pro' })).status, 404);
  t.is(await hub.db('entitlements').where({ user_id: person.id }).first(), undefined);
  t.is(await hub.db('outbox').whereLike('type', 'entitlement.%').first(), undefined);
});
