import test, { type ExecutionContext } from 'ava';
import { graphql, type GraphQLSchema } from 'graphql';
import { AppError } from '../../src/platform/errors.ts';
import { hubSchema } from '../../src/web/graphql/schema.ts';
import { seedGraphSources } from '../../src/web/graphql/sdl.ts';
import { buildServiceGraph, checkGraphSources, pathWithArguments, type GraphSource, type RestField } from '../../src/catalog/graph-declarations.ts';
import { fetchServiceField, ServiceGraphs } from '../../src/web/graphql/service-fields.ts';
import type { Logger } from '../../src/platform/logger.ts';
import type { PersonCaller } from '../../src/web/graphql/callers.ts';

const mail = (sdl: string): GraphSource => ({ slug: 'vezepyemail', name: 'VEZEPyEmail', sdl });
const refusal = (t: ExecutionContext, sources: GraphSource[], says: RegExp) => {
  const error = t.throws(() => checkGraphSources(hubSchema, sources));
  t.true(error instanceof AppError && error.status === 400, `400, got ${error?.message}`);
  t.regex(error!.message, says);
};

test('the seed\'s three services join the hub\'s schema, each field answered by its service at its path', (t) => {
  const graph = checkGraphSources(hubSchema, seedGraphSources());
  t.deepEqual(
    [...graph.fields.values()].map((f) => [f.field, f.service, f.path, f.pick]).sort(),
    [
      ['careerAnalytics', 'vezepycgrow', '/career-analytics', null],
      ['fantasyTeam', 'vezepysports', '/fantasy-team', null],
      ['inbox', 'vezepyemail', '/inbox', 'messages'],
    ],
  );
  const query = graph.schema.getQueryType()!.getFields();
  t.truthy(query.me, 'the hub\'s own fields stay');
  t.is(String(query.inbox!.type), '[Mail!]');
  t.is(String(query.fantasyTeam!.args[0]!.type), 'ID!');
  t.is(hubSchema.getQueryType()!.getFields().inbox, undefined, 'the hub\'s own schema is not changed');
});

test('a declaration that would break the graph or reach outside its service is refused with a 400 naming what is wrong', (t) => {
  refusal(t, [mail('type Mail { subject: String }\nextend type Query { inbox: [Mail!]! @rest(path: "/inbox") }')], /must be nullable/);
  refusal(t, [mail('type Service { x: Int }\nextend type Query { inbox: Int @rest(path: "/inbox") }')], /type name Service is taken/);
  refusal(t, [mail('extend type Query { me: Int @rest(path: "/me") }')], /Query\.me is taken/);
  refusal(t, [mail('extend type Query { inbox: Int }')], /needs one @rest/);
  refusal(t, [mail('extend type Query { inbox: Int @rest(path: "/a") @rest(path: "/b") }')], /needs one @rest/);
  for (const path of ['inbox', '//evil.example/x', '/../admin', '/a/../b', '/inbox?all=1', '/inbox#x', 'http://evil.example/', '/%2e%2e/admin', '/a%2Fb', '/a%5cb']) {
    refusal(t, [mail(`extend type Query { inbox: Int @rest(path: ${JSON.stringify(path)}) }`)], /must be a path under the service's URL/);
  }
  refusal(t, [mail('extend type Query { inbox(id: ID): Int @rest(path: "/inbox/{folder}") }')], /\{folder\}, which is not an argument/);
  refusal(t, [mail('input Filter { from: String }\nextend type Query { inbox(filter: Filter): Int @rest(path: "/inbox") }')], /nothing else/);
  refusal(t, [mail('type Mutation { send: Int }')], /type name Mutation is taken/);
  refusal(t, [mail('extend type Mutation { send: Int @rest(path: "/send") }')], /nothing else/);
  refusal(t, [mail('extend type Me { inboxCount: Int @rest(path: "/count") }')], /nothing else/);
  refusal(t, [mail('directive @mine on FIELD_DEFINITION\nextend type Query { inbox: Int @rest(path: "/inbox") }')], /nothing else/);
  refusal(t, [mail('type Mail { subject: String }')], /adds no Query field/);
  refusal(t, [mail('type Mail { subject: String @rest(path: "/x") }\nextend type Query { inbox: Mail @rest(path: "/inbox") }')], /may not carry directives/);
  refusal(t, [mail('extend type Query { inbox: Nowhere @rest(path: "/inbox") }')], /Nowhere/);
  refusal(t, [mail('extend type Query { inbox: Int @rest(path: "/inbox" }')], /does not parse/);
  refusal(t, [mail(`"${'x'.repeat(17 * 1024)}"\nextend type Query { inbox: Int @rest(path: "/inbox") }`)], /over 16 KB/);
  // Two services may not take the same names.
  refusal(t, [mail('type Mail { s: String }\nextend type Query { inbox: Mail @rest(path: "/inbox") }'), { slug: 'other', name: 'Other', sdl: 'type Mail { t: String }\nextend type Query { post: Mail @rest(path: "/p") }' }], /other: the type name Mail is taken/);
  refusal(t, [mail('extend type Query { inbox: Int @rest(path: "/inbox") }'), { slug: 'other', name: 'Other', sdl: 'extend type Query { inbox: Int @rest(path: "/p") }' }], /other: the field Query\.inbox is taken/);
});

test('arguments go into the path where it names them, the others into the query; null ones are left out', (t) => {
  t.is(pathWithArguments('/fantasy-team', { leagueId: 'L 1&2' }), '/fantasy-team?leagueId=L+1%262');
  t.is(pathWithArguments('/leagues/{leagueId}/team', { leagueId: 'a/b', week: 3, tag: null }), '/leagues/a%2Fb/team?week=3');
  t.is(pathWithArguments('/career-analytics', {}), '/career-analytics');
  for (const step of ['..', '.', '']) {
    const error = t.throws(() => pathWithArguments('/leagues/{leagueId}/team', { leagueId: step }));
    t.true(error instanceof AppError && error.status === 400, `"${step}" is not a segment`);
  }
  t.is(pathWithArguments('/leagues/{leagueId}/team', { leagueId: '...' }), '/leagues/.../team', 'three dots are a name');
});

/** The person a request acts for, as the resolvers hand it on (only passed through here). */
const ada = { kind: 'person', user: { id: 'p1' }, clientId: null, claims: null, via: 'bearer' } as unknown as PersonCaller;

const inbox: RestField = { service: 'vezepyemail', serviceName: 'VEZEPyEmail', field: 'inbox', path: '/inbox', pick: 'messages' };

test('the service\'s answer becomes the value, or an error with a code; a service out of reach is "busy", never an internal error', async (t) => {
  const answering = (status: number, body: unknown) => ({ get: async () => ({ status, body }) });
  t.deepEqual(await fetchServiceField(answering(200, { messages: [{ subject: 'Hi' }] }), inbox, { limit: 2 }, ada, '192.0.2.1'), [{ subject: 'Hi' }]);
  t.is(await fetchServiceField(answering(200, { other: 1 }), inbox, {}, ada, '192.0.2.1'), null);
  const codeOf = async (status: number, body: unknown = null) => (await t.throwsAsync(fetchServiceField(answering(status, body), inbox, {}, ada, '192.0.2.1'))) as AppError;
  t.is((await codeOf(404, { detail: 'no such league' })).code, 'not_found');
  t.regex((await codeOf(404, { detail: 'no such league' })).message, /no such league/);
  t.is((await codeOf(400)).code, 'invalid_input');
  t.is((await codeOf(429)).code, 'rate_limited');
  t.is((await codeOf(500)).code, 'busy');
  t.is((await codeOf(401)).code, 'busy');
  const unreachable = { get: async () => Promise.reject(new Error('ECONNREFUSED 127.0.0.1')) };
  const error = (await t.throwsAsync(fetchServiceField(unreachable, inbox, {}, ada, '192.0.2.1'))) as AppError;
  t.is(error.code, 'busy');
  t.notRegex(error.message, /ECONNREFUSED|127\.0\.0\.1/, 'nothing of the hub\'s insides');
  const offGateway = { get: async () => Promise.reject(new AppError('not_found', 'No active service "vezepyemail" is behind the gateway.')) };
  t.is(((await t.throwsAsync(fetchServiceField(offGateway, inbox, {}, ada, '192.0.2.1'))) as AppError).code, 'busy', 'a suspended service\'s field is unavailable, not "not found"');
  const noConsent = { get: async () => Promise.reject(new AppError('forbidden', 'VEZEPyEmail is not one of yours.')) };
  t.is(((await t.throwsAsync(fetchServiceField(noConsent, inbox, {}, ada, '192.0.2.1'))) as AppError).code, 'forbidden');
  let asked: unknown;
  await fetchServiceField({ get: async (request) => ((asked = request), { status: 200, body: { messages: [] } }) }, inbox, { limit: 5 }, ada, '192.0.2.1');
  t.deepEqual(asked, { service: 'vezepyemail', path: '/inbox?limit=5', caller: ada, ip: '192.0.2.1' });
});

test('a source that no longer joins the schema is left out, and the others and the hub\'s own fields still answer', async (t) => {
  const sources: GraphSource[] = [{ slug: 'clash', name: 'Clash', sdl: 'type Session { x: Int }\nextend type Query { clash: Session @rest(path: "/c") }' }, ...seedGraphSources()];
  const graph = buildServiceGraph(hubSchema, sources, (field) => () => ({ field: field.field }));
  t.deepEqual(graph.skipped.map((s) => s.slug), ['clash']);
  t.truthy(graph.schema.getQueryType()!.getFields().inbox);
  const schema: GraphQLSchema = graph.schema;
  const result = await graphql({ schema, source: '{ careerAnalytics { score } }' });
  t.truthy(result.errors, 'the field is resolved by the given resolver (here: an object without a score)');
});

test('the schema is read again only after its time, rebuilt only when a source changed, and served as it was while the sources cannot be read; with none yet, "busy"', async (t) => {
  const logger = { warn: () => undefined } as unknown as Logger;
  let sources: GraphSource[] = [];
  let reads = 0;
  let down = false;
  const read = async () => {
    reads++;
    if (down) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    return sources;
  };
  const graphs = new ServiceGraphs({ read, hubSchema, fetcher: { get: async () => ({ status: 200, body: null }) }, logger, ttlMs: 60_000 });
  const first = await graphs.current();
  t.is(first.getQueryType()!.getFields().inbox, undefined);
  t.is(await graphs.current(), first, 'within its time: not read again');
  t.is(reads, 1);

  graphs.forget();
  t.is(await graphs.current(), first, 'read again, nothing changed: the same schema');
  sources = seedGraphSources();
  graphs.forget();
  const grown = await graphs.current();
  t.truthy(grown.getQueryType()!.getFields().inbox);

  down = true;
  graphs.forget();
  t.is(await graphs.current(), grown, 'the database is out of reach: the last schema still serves');
  t.is(await graphs.current(), grown, 'and is not asked for again at once');
  t.is(reads, 4);

  const cold = new ServiceGraphs({ read, hubSchema, fetcher: { get: async () => ({ status: 200, body: null }) }, logger });
  const error = (await t.throwsAsync(cold.current())) as AppError;
  t.is(error.code, 'busy');
  t.is(error.retryAfter, 5);
});
