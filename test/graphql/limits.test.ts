import { AsyncLocalStorage } from 'node:async_hooks';
import test from 'ava';
import WebSocket from 'ws';
import { createClient as createWsClient } from 'graphql-ws';
import { startTestHub } from '../helpers/hub.ts';
import { grant, makePerson, makeService } from '../helpers/fixtures.ts';
import { api, eventsSettled, personToken } from '../events/helpers.ts';
import { setServiceRateLimits } from '../../src/catalog/service-rate-limits.ts';
import { cliActor } from '../../src/audit/actors.ts';
import { graphqlLimits } from '../../src/web/graphql/limits.ts';
import { graphqlPost } from './helpers.ts';
import { checkResponse } from '../api/openapi-check.ts';

test('too deep, too many aliases, too costly and broken documents are GraphQL errors with codes, never a 500', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepyweb', { firstParty: true });
  const person = await makePerson(hub);
  const token = await personToken(hub, person, 'vezepyweb');
  const as = { authorization: `Bearer ${token}` };
  const refusedWith = async (query: string, code: string) => {
    const answer = await graphqlPost(hub, query, {}, as);
    checkResponse(t, '/graphql', 'POST', answer);
    t.is(answer.status, 400, query.slice(0, 60));
    t.is(answer.body.data, undefined, 'nothing ran');
    t.is(answer.body.errors?.[0]?.extensions?.code, code, JSON.stringify(answer.body.errors));
    return answer.body.errors![0]!.message;
  };

  // Depth: the schema's own types have no cycle; __type's ofType chain does (graphql-armor leaves __schema, the introspection query, alone).
  const deep = `{ __type(name: "Query") { fields { type { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } }`;
  t.regex(await refusedWith(deep, 'QUERY_TOO_DEEP'), new RegExp(`depth limit of ${graphqlLimits.depth}`));
  const aliases = `{ ${Array.from({ length: graphqlLimits.aliases + 1 }, (_, i) => `a${i}: me { id }`).join(' ')} }`;
  t.regex(await refusedWith(aliases, 'TOO_MANY_ALIASES'), /Aliases limit/);
  const costly = `fragment S on Service { slug name status url entitlements { service serviceName tier expiresAt active } } { services { ${Array.from({ length: 200 }, () => '...S').join(' ')} } activity(first: 100) { nodes { id type service occurredAt data } } }`;
  t.regex(await refusedWith(costly, 'QUERY_TOO_COSTLY'), /Cost limit/);
  await refusedWith('{ me { id ', 'GRAPHQL_PARSE_FAILED');
  await refusedWith('{ me { nothingHere } }', 'GRAPHQL_VALIDATION_FAILED');

  // Within the limits, the same caller is answered.
  const fine = await graphqlPost(hub, '{ me { id } services { slug entitlements { tier } } activity(first: 100) { nodes { type } } }', {}, as);
  checkResponse(t, '/graphql', 'POST', fine);
  t.is(fine.status, 200);
  t.is(fine.body.errors, undefined);
});

test('in production an anonymous caller may not read the schema; a signed-in one may', async (t) => {
  const hub = await startTestHub(t, { env: { NODE_ENV: 'production' } });
  await makeService(hub, 'vezepyweb', { firstParty: true });
  const person = await makePerson(hub);
  const token = await personToken(hub, person, 'vezepyweb');
  const introspection = '{ __schema { queryType { name } } }';
  const anonymous = await graphqlPost(hub, introspection);
  t.is(anonymous.status, 400);
  t.is(anonymous.body.errors?.[0]?.extensions?.code, 'INTROSPECTION_DISABLED');
  t.is((await graphqlPost(hub, '{ __typename }')).body.data?.__typename, 'Query', 'plain queries still answer');
  const signedIn = await graphqlPost(hub, introspection, {}, { authorization: `Bearer ${token}` });
  t.deepEqual(signedIn.body.data, { __schema: { queryType: { name: 'Query' } } });
});

test('no N+1: a page of 50 services with their tiers takes as many SQL statements as a page of 2', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepyweb', { firstParty: true });
  await makeService(hub, 'svc-first');
  const person = await makePerson(hub);
  await grant(hub, person.email, 'svc-first', 'pro');
  const token = await personToken(hub, person, 'vezepyweb');
  const query = '{ services { slug entitlements { tier expiresAt } } }';
  // Only the statements of the request: the hub's background work (relay, workers' polls, sweeps)
  // shares the database, and runs outside any request's async context.
  const inRequest = new AsyncLocalStorage<true>();
  const enterRequest = () => inRequest.enterWith(true);
  hub.server.prependListener('request', enterRequest);
  t.teardown(() => void hub.server.off('request', enterRequest));
  const once = async () => {
    let count = 0;
    const record = () => void (inRequest.getStore() && count++);
    hub.db.on('query', record);
    try {
      const answer = await graphqlPost(hub, query, {}, { authorization: `Bearer ${token}` });
      t.is(answer.body.errors, undefined);
      return { count, services: (answer.body.data!.services as unknown[]).length };
    } finally {
      hub.db.off('query', record);
    }
  };
  const statements = async () => {
    await eventsSettled(hub);
    const runs = [await once(), await once(), await once()];
    return runs.reduce((a, b) => (b.count < a.count ? b : a));
  };
  await once(); // caches warm (the client's service and its rate limits)
  const few = await statements();
  t.is(few.services, 2);
  t.true(few.count > 0, 'the request\'s own statements are counted');
  for (let i = 0; i < 48; i++) {
    const slug = `svc-${String(i).padStart(2, '0')}`;
    await makeService(hub, slug);
    await grant(hub, person.email, slug, 'basic');
  }
  await once(); // the catalogue's cache is filled again after the 48 new services
  const many = await statements();
  t.is(many.services, 50);
  // The caller (its account, its grant), the services, the person's tiers: one statement each, however many services.
  t.true(many.count <= few.count, `${many.count} statements for 50 services, ${few.count} for 2`);
  t.true(many.count <= 6, `${many.count} statements`);
});

test('/graphql shares the person\'s /hub/* rate limit: over it, RATE_LIMITED with 429 and Retry-After; a body over 64 KiB is refused', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepyweb', { firstParty: true });
  await setServiceRateLimits(hub.db, 'vezepyweb', { hub: '3' }, cliActor());
  const person = await makePerson(hub);
  const token = await personToken(hub, person, 'vezepyweb');
  const as = { authorization: `Bearer ${token}` };
  t.is((await api(hub, '/hub/devices', token)).status, 200, 'one of the three by /hub/*');
  for (let i = 0; i < 2; i++) t.is((await graphqlPost(hub, '{ me { id } }', {}, as)).status, 200);
  const over = await graphqlPost(hub, '{ me { id } }', {}, as);
  checkResponse(t, '/graphql', 'POST', over);
  t.is(over.status, 429);
  t.is(over.body.errors?.[0]?.extensions?.code, 'RATE_LIMITED');
  t.truthy(over.headers.get('retry-after'));
  t.regex(over.headers.get('ratelimit') ?? '', /"hub";r=0/);

  const huge = await graphqlPost(hub, `{ __typename ${' '.repeat(70_000)}}`);
  t.is(huge.status, 413);
  t.is(huge.body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
});

test('over graphql-ws each operation counts against the same budget', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepyweb', { firstParty: true });
  await setServiceRateLimits(hub.db, 'vezepyweb', { hub: '2' }, cliActor());
  const person = await makePerson(hub);
  const token = await personToken(hub, person, 'vezepyweb');
  const client = createWsClient({ url: `${hub.url.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, retryAttempts: 0 });
  t.teardown(() => client.dispose());
  const once = async (): Promise<{ data?: unknown; errors?: ReadonlyArray<{ extensions?: Record<string, unknown> }> } | null> => {
    try {
      for await (const result of client.iterate({ query: '{ me { id } }' })) return result;
    } catch (errors) {
      return { errors: errors as Array<{ extensions?: Record<string, unknown> }> };
    }
    return null;
  };
  t.deepEqual((await once())?.data, { me: { id: person.id } });
  t.deepEqual((await once())?.data, { me: { id: person.id } });
  const over = await once();
  t.is(over?.errors?.[0]?.extensions?.code, 'RATE_LIMITED');
});
