import test from 'ava';
import { serverAudits } from 'graphql-http';
import { startTestHub } from '../helpers/hub.ts';
import { grant, makePerson, makeService } from '../helpers/fixtures.ts';
import { auditEntriesOf } from '../helpers/audit.ts';
import { api, eventually, personToken, serviceToken } from '../events/helpers.ts';
import { csrfTokenOf, signedInAgent } from '../portal/portal-helpers.ts';
import { graphqlClient, graphqlPost, run, type Json } from './helpers.ts';

test('graphql-http\'s server audit: every MUST passes', async (t) => {
  const hub = await startTestHub(t);
  const audits = serverAudits({ url: `${hub.url}/graphql` });
  t.true(audits.some((audit) => audit.name.startsWith('MUST')));
  for (const audit of audits) {
    const result = await audit.fn();
    if (audit.name.startsWith('MUST')) t.is(result.status, 'ok', `${audit.name}: ${'reason' in result ? result.reason : ''}`);
  }
});

test('a hub token reads me, services with their tiers, entitlements, devices, sessions, activity pages and privacy', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepyweb', { firstParty: true });
  await makeService(hub, 'vezepygame');
  const person = await makePerson(hub);
  const other = await makePerson(hub);
  await grant(hub, person.email, 'vezepygame', 'pro', '2030-01-01T00:00:00Z');
  await grant(hub, other.email, 'vezepygame', 'basic');
  const token = await personToken(hub, person, 'vezepyweb');
  const phone = await api(hub, '/hub/devices', token, { method: 'POST', body: JSON.stringify({ kind: 'phone', name: "Ada's phone", os: 'iOS 18.2', app_version: '2.4.1' }) });
  t.is(phone.status, 201);
  const client = graphqlClient(hub, token);

  const { data, errors } = await run(client, `{
    me { id displayName email emailVerified }
    services { slug name status url entitlements { tier expiresAt } }
    entitlements { service serviceName tier expiresAt active }
    devices { id kind name os appVersion push }
    sessions { id current device services }
    privacy { service connected shareProfile shareEmail shareActivity }
  }`);
  t.is(errors, undefined);
  t.deepEqual(data!.me, { id: person.id, displayName: person.name, email: person.email, emailVerified: true });
  t.deepEqual(data!.services, [
    { slug: 'vezepygame', name: 'VEZEPYGAME', status: 'active', url: null, entitlements: [{ tier: 'pro', expiresAt: '2030-01-01T00:00:00.000Z' }] },
    { slug: 'vezepyweb', name: 'VEZEPYWEB', status: 'active', url: null, entitlements: [] },
  ]);
  t.deepEqual(data!.entitlements, [{ service: 'vezepygame', serviceName: 'VEZEPYGAME', tier: 'pro', expiresAt: '2030-01-01T00:00:00.000Z', active: true }]);
  t.deepEqual(data!.devices, [{ id: phone.body.id, kind: 'phone', name: "Ada's phone", os: 'iOS 18.2', appVersion: '2.4.1', push: false }]);
  t.is(data!.sessions.length, 1);
  t.false(data!.sessions[0].current, 'a token has no portal session of its own');
  t.deepEqual(data!.sessions[0].services, ['VEZEPYWEB']);
  t.deepEqual(data!.privacy.find((p: { service: string }) => p.service === 'vezepyweb'), { service: 'vezepyweb', connected: true, shareProfile: true, shareEmail: true, shareActivity: true });

  // Activity: newest first, a page at a time, only this person's.
  const types: string[] = [];
  let after: string | null = null;
  for (let pages = 0; pages < 10; pages++) {
    const page: Json = await run(client, 'query($after: String) { activity(first: 2, after: $after) { nodes { type data } pageInfo { hasNextPage endCursor } } }', { after });
    types.push(...page.data.activity.nodes.map((n: { type: string }) => n.type));
    if (!page.data.activity.pageInfo.hasNextPage) break;
    after = page.data.activity.pageInfo.endCursor;
  }
  t.deepEqual(types, ['device.registered', 'session.created', 'entitlement.granted', 'user.signup']);
  const onlyGame = await run(client, '{ activity(service: "vezepygame") { nodes { type service } } }');
  t.deepEqual(onlyGame.data.activity.nodes, [{ type: 'entitlement.granted', service: 'vezepygame' }]);
  const tooMany = await run(client, '{ activity(first: 1000) { nodes { type } } }');
  t.is(tooMany.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
  t.regex(tooMany.errors![0]!.message, /limit is 1 to 100/);
});

test('mutations act as the portal does: audited, with their event, and bad ids are NOT_FOUND', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepyweb', { firstParty: true });
  const person = await makePerson(hub);
  const stranger = await makePerson(hub);
  const token = await personToken(hub, person, 'vezepyweb');
  const tvToken = await personToken(hub, person, 'vezepyweb');
  const tv = await api(hub, '/hub/devices', tvToken, { method: 'POST', body: JSON.stringify({ kind: 'tv', os: 'tvOS 18', app_version: '1.0' }) });
  const client = graphqlClient(hub, token);

  const renamed = await run(client, 'mutation($id: ID!, $name: String!) { renameDevice(id: $id, name: $name) { id name kind } }', { id: tv.body.id, name: '  Living room TV ' });
  t.deepEqual(renamed.data, { renameDevice: { id: tv.body.id, name: 'Living room TV', kind: 'tv' } });
  const [renaming] = await auditEntriesOf(hub.db, person.id, 'device.renamed');
  t.like(renaming?.data, { device_id: tv.body.id, name: 'Living room TV', previous_name: null });
  t.like((await hub.db('outbox').where({ user_id: person.id, type: 'device.renamed' }).first()).data, { device_id: tv.body.id, name: 'Living room TV' });
  const empty = await run(client, 'mutation($id: ID!) { renameDevice(id: $id, name: "   ") { id } }', { id: tv.body.id });
  t.is(empty.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
  t.truthy((empty.errors?.[0]?.extensions?.fields as Record<string, string> | undefined)?.name);
  const strangers = await run(client, 'mutation { renameDevice(id: "00000000-0000-4000-8000-000000000000", name: "x") { id } }');
  t.is(strangers.errors?.[0]?.extensions?.code, 'NOT_FOUND');
  t.is((await auditEntriesOf(hub.db, person.id, 'device.renamed')).length, 1, 'refused renames write nothing');

  const revoked = await run(client, 'mutation($id: ID!) { revokeDevice(id: $id) }', { id: tv.body.id });
  t.deepEqual(revoked.data, { revokeDevice: tv.body.id });
  t.is((await auditEntriesOf(hub.db, person.id, 'device.revoked')).length, 1);
  t.truthy(await hub.db('outbox').where({ user_id: person.id, type: 'device.revoked' }).first());
  t.is((await api(hub, '/hub/devices', tvToken)).status, 401, 'the removed device\'s token is refused');
  const again = await run(client, 'mutation($id: ID!) { revokeDevice(id: $id) }', { id: tv.body.id });
  t.is(again.errors?.[0]?.extensions?.code, 'NOT_FOUND');
  t.is((await auditEntriesOf(hub.db, person.id, 'device.revoked')).length, 1, 'a refused mutation writes nothing');

  const privacy = await run(client, 'mutation { setPrivacy(service: "vezepyweb", email: false) { service shareProfile shareEmail shareActivity } }');
  t.deepEqual(privacy.data!.setPrivacy, { service: 'vezepyweb', shareProfile: true, shareEmail: false, shareActivity: true });
  t.is((await auditEntriesOf(hub.db, person.id, 'consent.changed')).length, 1);
  const consent = await hub.db('outbox').where({ user_id: person.id, type: 'consent.changed' }).first();
  t.like(consent.data, { service: 'vezepyweb', email: false, profile: true });
  const unknown = await run(client, 'mutation { setPrivacy(service: "nowhere", email: false) { service } }');
  t.is(unknown.errors?.[0]?.extensions?.code, 'NOT_FOUND');

  // Another person's session is not found, and stays.
  const foreign = await personToken(hub, stranger, 'vezepyweb');
  const strangerSession = (await run(graphqlClient(hub, foreign), '{ sessions { id } }')).data!.sessions[0].id;
  const notMine = await run(client, 'mutation($id: ID!) { signOutSession(id: $id) }', { id: strangerSession });
  t.is(notMine.errors?.[0]?.extensions?.code, 'NOT_FOUND');
  const mine = (await run(client, '{ sessions { id } }')).data!.sessions[0].id;
  const signedOut = await run(client, 'mutation($id: ID!) { signOutSession(id: $id) }', { id: mine });
  t.deepEqual(signedOut.data, { signOutSession: mine });
  t.is((await auditEntriesOf(hub.db, person.id, 'session.revoked')).length, 1);
  t.truthy(await hub.db('outbox').where({ user_id: person.id, type: 'session.revoked' }).first());
  t.is((await auditEntriesOf(hub.db, stranger.id, 'session.revoked')).length, 0);
});

test('the portal\'s cookie: reads by GET, a POST only with the CSRF token, and from the hub\'s own origin', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepygame');
  const person = await makePerson(hub);
  await grant(hub, person.email, 'vezepygame', 'basic');
  const agent = await signedInAgent(hub, person);
  const csrf = await csrfTokenOf(agent, hub);
  const post = (headers: Record<string, string>, query = '{ me { email } sessions { current } }') =>
    agent.request(`${hub.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers }, body: JSON.stringify({ query }) });

  const read = await agent.request(`${hub.url}/graphql?query=${encodeURIComponent('{ me { email } sessions { current } }')}`, { headers: { accept: 'application/graphql-response+json' } });
  t.is(read.status, 200);
  t.deepEqual((await read.json()).data, { me: { email: person.email }, sessions: [{ current: true }] });

  const missing = await post({});
  t.is(missing.status, 403);
  t.is((await missing.json()).errors[0].extensions.code, 'CSRF_FAILED');
  const forged = await post({ 'x-csrf-token': 'forged' }, 'mutation { setPrivacy(service: "vezepygame", email: false) { shareEmail } }');
  t.is(forged.status, 403);
  t.is((await auditEntriesOf(hub.db, person.id, 'consent.changed')).length, 0, 'nothing changed without the token');

  const withToken = await post({ 'x-csrf-token': csrf }, 'mutation { setPrivacy(service: "vezepygame", email: false) { shareEmail } }');
  t.is(withToken.status, 200);
  t.deepEqual((await withToken.json()).data, { setPrivacy: { shareEmail: false } });
  t.is((await auditEntriesOf(hub.db, person.id, 'consent.changed')).length, 1);

  const elsewhere = await post({ 'x-csrf-token': csrf, origin: 'https://evil.example' });
  t.is(elsewhere.status, 403);
  t.is((await elsewhere.json()).errors[0].extensions.code, 'FORBIDDEN');
});

test('a service\'s client-credentials token sees only its own service; tokens that are missing, wrong or narrow are refused with codes', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepyweb', { firstParty: true });
  await makeService(hub, 'vezepygame');
  await makeService(hub, 'vezepyemail');
  const person = await makePerson(hub);
  await grant(hub, person.email, 'vezepygame', 'pro');
  const machine = await serviceToken(hub, 'vezepygame');
  const client = graphqlClient(hub, machine);

  const own = await run(client, '{ services { slug entitlements { tier } } }');
  t.deepEqual(own.data!.services, [{ slug: 'vezepygame', entitlements: [] }]);
  for (const field of ['me { id }', 'entitlements { tier }', 'devices { id }', 'sessions { id }', 'privacy { service }', 'activity { nodes { id } }']) {
    const refused = await run(client, `{ ${field} }`);
    t.is(refused.errors?.[0]?.extensions?.code, 'FORBIDDEN', field);
  }
  const mutation = await run(client, 'mutation { setPrivacy(service: "vezepygame", email: false) { service } }');
  t.is(mutation.errors?.[0]?.extensions?.code, 'FORBIDDEN');

  const anonymous = await graphqlPost(hub, '{ me { id } }');
  t.is(anonymous.status, 200);
  t.is(anonymous.body.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
  const person_ = await personToken(hub, person, 'vezepyweb');
  const tampered = await graphqlPost(hub, '{ me { id } }', {}, { authorization: `Bearer ${person_.slice(0, -6)}AAAAAA` });
  t.is(tampered.status, 401);
  t.is(tampered.body.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
  t.regex(tampered.headers.get('www-authenticate') ?? '', /invalid_token/);
  const narrow = await personToken(hub, person, 'vezepyweb', 'openid events');
  const noHub = await graphqlPost(hub, '{ me { id } }', {}, { authorization: `Bearer ${narrow}` });
  t.is(noHub.status, 403);
  t.is(noHub.body.errors?.[0]?.extensions?.code, 'FORBIDDEN');
  t.regex(noHub.headers.get('www-authenticate') ?? '', /insufficient_scope/);
  await eventually(() => true);
});
