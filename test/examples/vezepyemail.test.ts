import test, { type ExecutionContext } from 'ava';
import { postEvent } from '../../sdk/typescript/src/index.ts';
import { createWebhook } from '../../src/events/webhooks.ts';
import { grant, makeClient, makePerson, makeService, relyingParty } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { eventually, signedInTokens } from '../helpers/oidc.ts';
import { freePort, startProcess } from '../helpers/processes.ts';
import { UserAgent, signInThroughPages } from '../helpers/user-agent.ts';

/** A hub with VEZEPyEmail registered (service, web client, webhook) and the example running as a process. */
async function emailService(t: ExecutionContext) {
  const hub = await startTestHub(t);
  const service = await makeService(hub, 'vezepyemail', { firstParty: true });
  const person = await makePerson(hub);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const client = await makeClient(hub, { service: 'vezepyemail', type: 'web', redirectUris: [`${url}/callback`], postLogoutRedirectUris: [`${url}/`] });
  const webhook = await createWebhook(hub.db, hub.events.webhookBox, { service: 'vezepyemail', url: `${url}/webhooks` });
  await startProcess(t, process.execPath, ['examples/vezepyemail/server.ts'], {
    ISSUER: hub.url,
    CLIENT_ID: client.client_id,
    CLIENT_SECRET: client.client_secret!,
    WEBHOOK_SECRET: webhook.secret,
    PORT: String(port),
    PUBLIC_URL: url,
  }, `${url}/health`);
  return { hub, service, person, client, url };
}

/** What the hub's GraphQL will hold: the person's access token for VEZEPyEmail, by code + PKCE. */
async function personTokenFor(s: Awaited<ReturnType<typeof emailService>>) {
  const other = await makeClient(s.hub, { service: 'vezepyemail', type: 'web' });
  const rp = await relyingParty(s.hub, other);
  return signedInTokens({ hub: s.hub, rp, person: s.person }, { scope: 'openid read', resource: s.service.resource });
}

test('Sign in with VEZE goes through the hub and back; the hub\'s webhooks land in the inbox; sign out ends it at the hub', async (t) => {
  const s = await emailService(t);
  const agent = new UserAgent();
  const login = await agent.request(`${s.url}/login`);
  t.is(login.status, 302);
  const authorization = login.headers.get('location')!;
  t.true(authorization.startsWith(`${s.hub.url}/auth?`));
  t.is(new URL(authorization).searchParams.get('code_challenge_method'), 'S256');

  const callback = await signInThroughPages(agent, s.hub.url, authorization, s.person.email, s.person.password);
  t.true(callback.startsWith(`${s.url}/callback?`), callback);
  const back = await agent.request(callback);
  t.is(back.status, 302, await back.clone().text());
  const home = await (await agent.request(`${s.url}/`)).text();
  t.regex(home, new RegExp(`Signed in as ${s.person.name}`));
  t.regex(home, /Welcome to VEZEPyEmail/);

  // A callback replayed (or from another browser) is refused.
  t.is((await fetch(callback)).status, 400);

  // The hub's events for the person reach the example as signed webhooks and show in the inbox.
  await grant(s.hub, s.person.email, 'vezepyemail', 'pro');
  const credentials = { issuer: s.hub.url, clientId: s.client.client_id, clientSecret: s.client.client_secret! };
  await postEvent(credentials, { type: 'email.received', user: s.person.id, data: { subject: 'Lunch on Friday?', from: 'grace@example.test' } });
  const inbox = await eventually(async () => {
    const page = await (await agent.request(`${s.url}/`)).text();
    return page.includes('Lunch on Friday?') && page.includes('Your VEZEPyEmail plan is now pro') ? page : undefined;
  });
  t.regex(inbox, /grace@example\.test/);

  // A delivery that is not the hub's is refused.
  const forged = await fetch(`${s.url}/webhooks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'webhook-id': 'x', 'webhook-timestamp': String(Math.floor(Date.now() / 1000)), 'webhook-signature': 'v1,AAAA' },
    body: JSON.stringify({ id: 'x', type: 'email.received', user_id: s.person.id, data: { subject: 'Forged' } }),
  });
  t.is(forged.status, 400);

  const out = await agent.request(`${s.url}/logout`);
  t.true(out.headers.get('location')!.startsWith(`${s.hub.url}/session/end?`));
  t.regex(await (await agent.request(`${s.url}/`)).text(), /Sign in with VEZE/);
});

test('GET /inbox answers the person\'s messages for their VEZEPyEmail token from the hub, and 401 without one', async (t) => {
  const s = await emailService(t);
  const tokens = await personTokenFor(s);
  const credentials = { issuer: s.hub.url, clientId: s.client.client_id, clientSecret: s.client.client_secret! };
  await postEvent(credentials, { type: 'email.received', user: s.person.id, data: { subject: 'Newest', from: 'ada@example.test' } });

  const inbox = (query: string, headers: Record<string, string> = { authorization: `Bearer ${tokens.access_token}` }) => fetch(`${s.url}/inbox${query}`, { headers });
  const body = await eventually(async () => {
    const response = await inbox('?limit=2');
    const json = (await response.json()) as { messages: Array<{ subject: string; from: string; date: string }> };
    return response.status === 200 && json.messages[0]?.subject === 'Newest' ? json : undefined;
  });
  t.is(body.messages.length, 2);
  t.deepEqual(Object.keys(body.messages[0]!).sort(), ['date', 'from', 'subject']);
  t.is(body.messages[0]!.from, 'ada@example.test');
  t.true(body.messages[0]!.date > body.messages[1]!.date, 'newest first');
  t.is(((await (await inbox('')).json()) as { messages: unknown[] }).messages.length, 4, 'three demo messages and the one posted');

  const refused = await inbox('?limit=2', {});
  t.is(refused.status, 401);
  t.is(refused.headers.get('content-type'), 'application/problem+json');
  // The ID token, and a token for another service, are not tokens for VEZEPyEmail.
  t.is((await inbox('', { authorization: `Bearer ${tokens.id_token}` })).status, 401);
  const sports = await makeService(s.hub, 'vezepysports', { firstParty: true });
  const rp = await relyingParty(s.hub, await makeClient(s.hub, { service: 'vezepysports' }));
  const other = await signedInTokens({ hub: s.hub, rp, person: s.person }, { scope: 'openid read', resource: sports.resource });
  const wrongAudience = await inbox('', { authorization: `Bearer ${other.access_token}` });
  t.is(wrongAudience.status, 401);
  t.is(wrongAudience.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
  t.is((await inbox('?limit=0')).status, 400);
  t.deepEqual(await (await fetch(`${s.url}/health`)).json(), { status: 'ok' });
});
