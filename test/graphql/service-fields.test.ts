import test, { type ExecutionContext } from 'ava';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as jose from 'jose';
import { cliActor } from '../../src/audit/actors.ts';
import { setUpstream } from '../../src/catalog/service-exchange.ts';
import type { Hub } from '../../src/app/start.ts';
import { startTestHub } from '../helpers/hub.ts';
import { makePerson, makeService, type Person } from '../helpers/fixtures.ts';
import { auditEntriesAfter } from '../helpers/audit.ts';
import { api, personToken, serviceToken } from '../events/helpers.ts';
import { graphqlClient, graphqlPost, run } from './helpers.ts';

const mailSdl = `"A message."
type Mail { subject: String!  from: String!  date: String! }
extend type Query {
  inbox(limit: Int = 20): [Mail!] @rest(path: "/inbox", pick: "messages")
  mailFolder(folder: String!): [Mail!] @rest(path: "/folders/{folder}", pick: "messages")
}`;

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

/** A service's API on a port of its own: it answers with `answer` and keeps what it was sent. */
async function serviceApi(t: ExecutionContext, answer: (req: http.IncomingMessage) => { status: number; body: unknown }) {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method!, url: req.url!, headers: req.headers });
    const { status, body } = answer(req);
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}

const messages = [
  { subject: 'Your order shipped', from: 'shop@veze.local', date: '2026-12-07T08:00:00.000Z' },
  { subject: 'Welcome', from: 'team@veze.local', date: '2026-12-06T09:00:00.000Z' },
];

/** A hub with a first-party app for people, and a mail service whose API is `upstream`, its fields declared by itself. */
async function mailScene(t: ExecutionContext, upstream: string): Promise<{ hub: Hub; person: Person; token: string }> {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepyweb', { firstParty: true });
  await makeService(hub, 'mailsvc', { firstParty: true });
  await setUpstream(hub.db, 'mailsvc', upstream, cliActor());
  const declared = await api(hub, '/api/v1/services/mailsvc/graph', await serviceToken(hub, 'mailsvc', 'graph'), { method: 'PUT', body: JSON.stringify({ sdl: mailSdl }) });
  t.is(declared.status, 200, JSON.stringify(declared.body));
  t.deepEqual(declared.body, { service: 'mailsvc', fields: ['inbox', 'mailFolder'] });
  const person = await makePerson(hub);
  return { hub, person, token: await personToken(hub, person, 'vezepyweb') };
}

test.serial('one query reads the hub\'s fields and a service\'s; the service is asked through the gateway with a token made for it, for that person', async (t) => {
  const mail = await serviceApi(t, (req) => (req.url!.startsWith('/inbox') ? { status: 200, body: { messages: messages.slice(0, Number(new URL(req.url!, 'http://x').searchParams.get('limit'))) } } : { status: 200, body: { messages: [] } }));
  const { hub, person, token } = await mailScene(t, mail.url);

  const { data, errors } = await run(graphqlClient(hub, token), '{ me { id } inbox(limit: 1) { subject from date } mailFolder(folder: "a b/c") { subject } }');
  t.is(errors, undefined);
  t.deepEqual(data, { me: { id: person.id }, inbox: [messages[0]], mailFolder: [] });

  t.deepEqual(mail.seen.map((s) => `${s.method} ${s.url}`).sort(), ['GET /folders/a%20b%2Fc', 'GET /inbox?limit=1']);
  const asked = mail.seen.find((s) => s.url.startsWith('/inbox'))!;
  t.is(asked.headers.cookie, undefined);
  const bearer = asked.headers.authorization?.replace(/^Bearer /, '') ?? '';
  const { payload, protectedHeader } = await jose.jwtVerify(bearer, jose.createRemoteJWKSet(new URL(`${hub.url}/jwks`)), { issuer: hub.url, audience: 'urn:veze:service:mailsvc' });
  t.is(protectedHeader.typ, 'at+jwt');
  t.is(payload.sub, person.id);
  t.deepEqual(payload.act, { sub: `${hub.url}/gateway` });
  t.deepEqual(payload.entitlements, []);
});

test.serial('a service that is down or has nothing makes only its own field null, with a code; the answer is still 200 with the hub\'s fields', async (t) => {
  const mail = await serviceApi(t, (req) => (req.url!.startsWith('/folders/') ? { status: 404, body: { detail: 'no such folder' } } : { status: 500, body: {} }));
  const { hub, person, token } = await mailScene(t, mail.url);
  const client = graphqlClient(hub, token);

  const missing = await run(client, '{ me { id } mailFolder(folder: "x") { subject } }');
  t.deepEqual(missing.data, { me: { id: person.id }, mailFolder: null });
  t.is(missing.errors?.[0]?.extensions?.code, 'NOT_FOUND');
  t.regex(missing.errors![0]!.message, /no such folder/);

  const failing = await run(client, '{ me { id } inbox { subject } }');
  t.deepEqual(failing.data, { me: { id: person.id }, inbox: null });
  t.is(failing.errors?.[0]?.extensions?.code, 'SERVICE_UNAVAILABLE');

  // Down altogether: nothing listens there any more.
  await new Promise<void>((resolve) => mail.server.close(() => resolve()));
  mail.server.closeAllConnections();
  const posted = await graphqlPost(hub, '{ me { id } inbox { subject } }', {}, { authorization: `Bearer ${token}` });
  t.is(posted.status, 200);
  t.deepEqual(posted.body.data, { me: { id: person.id }, inbox: null });
  t.is(posted.body.errors?.[0]?.extensions?.code, 'SERVICE_UNAVAILABLE');
  t.notRegex(JSON.stringify(posted.body), /127\.0\.0\.1|ECONNREFUSED/, 'nothing of where the service lives');
});

test.serial('a third-party service\'s field is FORBIDDEN to a person who never signed in to it, and answers once they have', async (t) => {
  const mail = await serviceApi(t, () => ({ status: 200, body: { messages } }));
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepyweb', { firstParty: true });
  await makeService(hub, 'mailsvc');
  await setUpstream(hub.db, 'mailsvc', mail.url, cliActor());
  t.is((await api(hub, '/api/v1/services/mailsvc/graph', await serviceToken(hub, 'mailsvc', 'graph'), { method: 'PUT', body: JSON.stringify({ sdl: mailSdl }) })).status, 200);
  const person = await makePerson(hub);
  const client = graphqlClient(hub, await personToken(hub, person, 'vezepyweb'));
  const before = await run(client, '{ me { id } inbox { subject } }');
  t.deepEqual(before.data, { me: { id: person.id }, inbox: null });
  t.is(before.errors?.[0]?.extensions?.code, 'FORBIDDEN');
  t.regex(before.errors![0]!.message, /sign in to it once/);
  t.deepEqual(mail.seen, [], 'the service never heard of the person');

  await personToken(hub, person, 'mailsvc', 'openid');
  const after = await run(client, '{ inbox { subject } }');
  t.is(after.errors, undefined);
  t.deepEqual(after.data, { inbox: messages.map((m) => ({ subject: m.subject })) });
});

test.serial('a service\'s own token is FORBIDDEN for a person\'s field and nobody is UNAUTHENTICATED; the service is never asked', async (t) => {
  const mail = await serviceApi(t, () => ({ status: 200, body: { messages } }));
  const { hub } = await mailScene(t, mail.url);
  const asService = await run(graphqlClient(hub, await serviceToken(hub, 'mailsvc')), '{ inbox { subject } }');
  t.is(asService.data?.inbox, null);
  t.is(asService.errors?.[0]?.extensions?.code, 'FORBIDDEN');
  const anonymous = await graphqlPost(hub, '{ inbox { subject } }');
  t.is(anonymous.body.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
  t.deepEqual(mail.seen, []);
});

test.serial('a service declares only its own fields, with the graph scope; a bad declaration is a 400 that says why; each change is audited and announced', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepyweb', { firstParty: true });
  await makeService(hub, 'mailsvc');
  await makeService(hub, 'othersvc');
  const token = await serviceToken(hub, 'mailsvc', 'graph');
  const put = (path: string, body: unknown, bearer = token) => api(hub, path, bearer, { method: 'PUT', body: JSON.stringify(body) });
  const before = Number((await hub.db('audit_log').max('seq as seq').first())?.seq ?? 0);

  const other = await put('/api/v1/services/othersvc/graph', { sdl: mailSdl });
  t.is(other.status, 403);
  const withoutScope = await put('/api/v1/services/mailsvc/graph', { sdl: mailSdl }, await serviceToken(hub, 'mailsvc', 'events'));
  t.is(withoutScope.status, 403);
  const bad = await put('/api/v1/services/mailsvc/graph', { sdl: 'extend type Query { me: Int @rest(path: "/me") }' });
  t.is(bad.status, 400);
  t.regex(bad.body.detail ?? bad.body.message ?? JSON.stringify(bad.body), /Query\.me is taken/);
  t.is((await put('/api/v1/services/mailsvc/graph', { nope: 1 })).status, 400);
  t.is((await put('/api/v1/services/mailsvc/graph', { sdl: mailSdl })).status, 200);

  const person = await makePerson(hub);
  const client = graphqlClient(hub, await personToken(hub, person, 'vezepyweb'));
  t.is((await run(client, '{ __type(name: "Mail") { name } }')).data?.__type?.name, 'Mail');

  const removed = await api(hub, '/api/v1/services/mailsvc/graph', token, { method: 'DELETE' });
  t.is(removed.status, 204);
  t.is((await api(hub, '/api/v1/services/mailsvc/graph', token, { method: 'DELETE' })).status, 404);
  const gone = await graphqlPost(hub, '{ inbox { subject } }', {}, { authorization: `Bearer ${await personToken(hub, person, 'vezepyweb')}` });
  t.is(gone.body.errors?.[0]?.extensions?.code, 'GRAPHQL_VALIDATION_FAILED', 'this instance serves the change at once');

  const entries = (await auditEntriesAfter(hub.db, before)).filter((e) => e.action === 'service.graph_changed');
  t.deepEqual(entries.map((e) => [e.data.slug, e.data.fields, e.data.via]), [['mailsvc', ['inbox', 'mailFolder'], 'api'], ['mailsvc', [], 'api']]);
  const events = await hub.db('outbox').where({ type: 'service.graph_changed' }).orderBy('seq').select('data');
  t.deepEqual(events.map((e) => e.data.fields), [['inbox', 'mailFolder'], []]);
});
