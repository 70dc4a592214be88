import test from 'ava';
import { readFile } from 'node:fs/promises';
import { cliActor } from '../../src/audit/actors.ts';
import { graphSourceCheck } from '../../src/catalog/graph-declarations.ts';
import { declareGraphSource } from '../../src/catalog/graph-sources.ts';
import { setUpstream } from '../../src/catalog/service-exchange.ts';
import { createWebhook } from '../../src/events/webhooks.ts';
import { hubSchema } from '../../src/web/graphql/schema.ts';
import { makeClient, makePerson, makeService } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { freePort, python, startProcess } from '../helpers/processes.ts';
import { api, personToken } from '../events/helpers.ts';
import { graphqlPost, type Json } from '../graphql/helpers.ts';

const seedSource = (slug: string) => readFile(new URL(`../../seeds/graph-sources/${slug}.graphql`, import.meta.url), 'utf8');

test('a device app asks /graphql once for its person, the hub and both example services; the gateway reaches them too; a service that stops makes only its field null', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepyweb', { firstParty: true });
  await makeService(hub, 'vezepyemail', { firstParty: true });
  await makeService(hub, 'vezepysports', { firstParty: true });

  // The two example services as real processes (TypeScript and Python), behind the gateway, with the seed's declarations.
  const [emailPort, sportsPort] = [await freePort(), await freePort()];
  const emailUrl = `http://127.0.0.1:${emailPort}`;
  const sportsUrl = `http://127.0.0.1:${sportsPort}`;
  const emailClient = await makeClient(hub, { service: 'vezepyemail', type: 'web', redirectUris: [`${emailUrl}/callback`], postLogoutRedirectUris: [`${emailUrl}/`] });
  const webhook = await createWebhook(hub.db, hub.events.webhookBox, { service: 'vezepyemail', url: `${emailUrl}/webhooks` });
  await startProcess(t, process.execPath, ['examples/vezepyemail/server.ts'], {
    ISSUER: hub.url, CLIENT_ID: emailClient.client_id, CLIENT_SECRET: emailClient.client_secret!, WEBHOOK_SECRET: webhook.secret, PORT: String(emailPort), PUBLIC_URL: emailUrl,
  }, `${emailUrl}/health`);
  const sports = await startProcess(t, python, ['examples/vezepysports/server.py'], { ISSUER: hub.url, PORT: String(sportsPort), PYTHONDONTWRITEBYTECODE: '1' }, `${sportsUrl}/health`);
  for (const [slug, url] of [['vezepyemail', emailUrl], ['vezepysports', sportsUrl]] as const) {
    await setUpstream(hub.db, slug, url, cliActor());
    await declareGraphSource(hub.db, slug, await seedSource(slug), graphSourceCheck(hubSchema), cliActor());
  }

  const person = await makePerson(hub);
  const token = await personToken(hub, person, 'vezepyweb');
  const query = '{ me { id displayName } inbox(limit: 2) { subject from date } fantasyTeam(leagueId: "veze-football") { id roster { name points } } }';
  const answer: Json = await graphqlPost(hub, query, {}, { authorization: `Bearer ${token}` });
  t.is(answer.status, 200);
  t.is(answer.body.errors, undefined, JSON.stringify(answer.body.errors));
  const data = answer.body.data;
  t.deepEqual(data.me, { id: person.id, displayName: person.name });
  t.is(data.inbox.length, 2, 'the demo inbox of a person the example has never seen');
  t.true(data.inbox.every((m: { subject: string; from: string; date: string }) => m.subject && m.from && !Number.isNaN(Date.parse(m.date))));
  t.is(data.fantasyTeam.roster.length, 5);

  // The same team through the gateway, with the person's hub token: the service sees the same person.
  const viaGateway = await api(hub, '/gateway/vezepysports/fantasy-team?leagueId=veze-football', token);
  t.is(viaGateway.status, 200);
  t.deepEqual(viaGateway.body, data.fantasyTeam);
  const unknownLeague: Json = await graphqlPost(hub, '{ fantasyTeam(leagueId: "veze-curling") { id } }', {}, { authorization: `Bearer ${token}` });
  t.is(unknownLeague.body.data.fantasyTeam, null);
  t.is(unknownLeague.body.errors[0].extensions.code, 'NOT_FOUND');

  // VEZEPySports stops: its field is null with SERVICE_UNAVAILABLE; the hub's and VEZEPyEmail's still answer.
  sports.child.kill('SIGTERM');
  await new Promise((resolve) => (sports.child.exitCode === null ? sports.child.once('exit', resolve) : resolve(null)));
  const partial: Json = await graphqlPost(hub, query, {}, { authorization: `Bearer ${token}` });
  t.is(partial.status, 200);
  t.is(partial.body.data.fantasyTeam, null);
  t.is(partial.body.data.inbox.length, 2);
  t.deepEqual(partial.body.errors.map((e: { path: string[]; extensions: { code: string } }) => [e.path.join('.'), e.extensions.code]), [['fantasyTeam', 'SERVICE_UNAVAILABLE']]);
});
