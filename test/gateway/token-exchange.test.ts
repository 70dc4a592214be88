import test from 'ava';
import * as oidc from 'openid-client';
import type { Hub } from '../../src/app/start.ts';
import { cliActor } from '../../src/audit/actors.ts';
import { allowExchange, denyExchange } from '../../src/catalog/service-exchange.ts';
import { setServiceStatus } from '../../src/catalog/service-status.ts';
import { disableUser } from '../../src/identity/account-status.ts';
import { grant, makeClient, makePerson, makeService, relyingParty, type Person } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { signedInTokens, tokenRequest, verifyAccessToken } from '../helpers/oidc.ts';
import { auditEntriesAfter } from '../helpers/audit.ts';
import { exchangeToken, verifyServiceToken } from '../../sdk/typescript/src/index.ts';

const exchangeGrant = 'urn:ietf:params:oauth:grant-type:token-exchange';
const accessTokenType = 'urn:ietf:params:oauth:token-type:access_token';

/** Two services, notes (acting, with a web client) and mail (the target); a person holding "pro" at mail, signed in at notes. */
async function world(t: Parameters<typeof startTestHub>[0]) {
  const hub = await startTestHub(t);
  const notes = await makeService(hub, 'notes');
  const mail = await makeService(hub, 'mail');
  const client = await makeClient(hub, { service: 'notes' });
  const person = await makePerson(hub);
  await grant(hub, person.email, 'mail', 'pro');
  const rp = await relyingParty(hub, client);
  const signIn = (p: Person = person, resource = notes.resource, scope = 'openid read offline_access') => signedInTokens({ hub, rp, person: p }, { scope, resource });
  return { hub, notes, mail, client, person, rp, signIn };
}

const exchange = (hub: Hub, client: { client_id: string; client_secret?: string }, subjectToken: string, extra: Record<string, string> = {}) =>
  tokenRequest(hub, client, { grant_type: exchangeGrant, subject_token: subjectToken, subject_token_type: accessTokenType, audience: 'mail', ...extra });

test('a service exchanges a person\'s token for one toward another service only while an administrator allows the pair', async (t) => {
  const { hub, mail, client, person, signIn } = await world(t);
  const tokens = await signIn();

  const discovery = (await (await fetch(`${hub.url}/.well-known/openid-configuration`)).json()) as { grant_types_supported: string[] };
  t.true(discovery.grant_types_supported.includes(exchangeGrant));

  const before = await exchange(hub, client, tokens.access_token);
  t.is(before.status, 400);
  t.is(before.json.error, 'unauthorized_client');

  const seq = Number((await hub.db('audit_log').max('seq as seq').first())?.seq ?? 0);
  t.true((await allowExchange(hub.db, 'notes', 'mail', cliActor())).changed);
  t.false((await allowExchange(hub.db, 'notes', 'mail', cliActor())).changed);
  t.deepEqual((await auditEntriesAfter(hub.db, seq)).map((e) => e.action), ['service.exchange_allowed']);
  t.truthy(await hub.db('outbox').where({ type: 'service.exchange_allowed' }).first());

  const allowed = await exchange(hub, client, tokens.access_token, { scope: 'read' });
  t.is(allowed.status, 200, allowed.text);
  t.like(allowed.json, { issued_token_type: accessTokenType, token_type: 'Bearer', scope: 'read' });
  t.true(Number(allowed.json.expires_in) > 0);
  const { payload, protectedHeader } = await verifyAccessToken(hub, String(allowed.json.access_token), mail.resource);
  t.is(protectedHeader.typ, 'at+jwt');
  t.is(protectedHeader.alg, 'ES256');
  t.like(payload, { sub: person.id, aud: mail.resource, client_id: client.client_id, scope: 'read', act: { sub: client.client_id } });
  t.deepEqual(payload.entitlements, ['pro']);

  // What the TypeScript SDK sends is what the hub takes, and its verifier takes what the hub gives.
  const viaSdk = await exchangeToken({ issuer: hub.url, clientId: client.client_id, clientSecret: client.client_secret! }, { subjectToken: tokens.access_token, resource: mail.resource });
  t.like(await verifyServiceToken(viaSdk.access_token, { issuer: hub.url, audience: mail.resource }), { sub: person.id, act: { sub: client.client_id } });

  // By resource (the URI) as well as by audience (the slug); a scope the target lacks is refused.
  t.is((await exchange(hub, client, tokens.access_token, { audience: mail.resource })).status, 200);
  t.is((await tokenRequest(hub, client, { grant_type: exchangeGrant, subject_token: tokens.access_token, subject_token_type: accessTokenType, resource: mail.resource })).status, 200);
  t.is((await exchange(hub, client, tokens.access_token, { scope: 'admin' })).json.error, 'invalid_scope');

  t.true((await denyExchange(hub.db, 'notes', 'mail', cliActor())).changed);
  t.truthy(await hub.db('outbox').where({ type: 'service.exchange_denied' }).first());
  t.is((await exchange(hub, client, tokens.access_token)).json.error, 'unauthorized_client');
});

test('bad subject tokens, types and targets are refused with the RFC\'s errors, never a 500', async (t) => {
  const { hub, notes, mail, client, signIn } = await world(t);
  await allowExchange(hub.db, 'notes', 'mail', cliActor());
  const tokens = await signIn();

  t.is((await exchange(hub, client, 'not.a.token')).json.error, 'invalid_grant');
  t.is((await exchange(hub, client, tokens.access_token, { subject_token_type: 'urn:ietf:params:oauth:token-type:id_token' })).json.error, 'invalid_request');
  t.is((await exchange(hub, client, tokens.access_token, { requested_token_type: 'urn:ietf:params:oauth:token-type:refresh_token' })).json.error, 'invalid_request');
  t.is((await exchange(hub, client, tokens.access_token, { audience: 'nosuch' })).json.error, 'invalid_target');
  t.is((await exchange(hub, client, tokens.access_token, { audience: 'urn:x:\u0000' })).json.error, 'invalid_target');
  const missing = await tokenRequest(hub, client, { grant_type: exchangeGrant, subject_token_type: accessTokenType, audience: 'mail' });
  t.is(missing.json.error, 'invalid_request');

  // The client's own client-credentials token is no person's.
  const own = await oidc.clientCredentialsGrant(await relyingParty(hub, client), { resource: notes.resource, scope: 'read' });
  t.is((await exchange(hub, client, own.access_token)).json.error, 'invalid_grant');

  // A token for another service than the acting client's own is not the client's to exchange.
  const mailClient = await makeClient(hub, { service: 'mail' });
  const mailTokens = await signedInTokens({ hub, rp: await relyingParty(hub, mailClient), person: (await makePerson(hub)) }, { scope: 'openid read', resource: mail.resource });
  t.is((await exchange(hub, client, mailTokens.access_token)).json.error, 'invalid_grant');

  // The token's issuer signs with keys nobody else has: a token of a look-alike (header and claims, no signature) is refused.
  const [header, body] = tokens.access_token.split('.');
  t.is((await exchange(hub, client, `${header}.${body}.AAAA`)).json.error, 'invalid_grant');

  // An actor token, when given, must be the client's own.
  const actor = await exchange(hub, client, tokens.access_token, { actor_token: own.access_token, actor_token_type: accessTokenType });
  t.is(actor.status, 200, actor.text);
  t.is((await exchange(hub, client, tokens.access_token, { actor_token: tokens.access_token, actor_token_type: accessTokenType })).json.error, 'invalid_request');

  // A suspended target is no target.
  await setServiceStatus(hub.db, hub.holder.caches, 'mail', 'suspended', {});
  t.is((await exchange(hub, client, tokens.access_token)).json.error, 'invalid_target');
});

test('a revoked grant or a disabled account exchanges nothing; a person\'s hub token issued to the client exchanges too', async (t) => {
  const { hub, rp, client, person, signIn } = await world(t);
  await allowExchange(hub.db, 'notes', 'mail', cliActor());

  const hubTokens = await signIn(person, `${hub.url}/hub`, 'openid hub offline_access');
  const fromHub = await exchange(hub, client, hubTokens.access_token);
  t.is(fromHub.status, 200, fromHub.text);

  const tokens = await signIn();
  t.is((await exchange(hub, client, tokens.access_token)).status, 200);
  await oidc.tokenRevocation(rp, tokens.refresh_token!, { token_type_hint: 'refresh_token' });
  const revoked = await exchange(hub, client, tokens.access_token);
  t.is(revoked.json.error, 'invalid_grant');

  const other = await makePerson(hub);
  const otherTokens = await signIn(other);
  t.is((await exchange(hub, client, otherTokens.access_token)).status, 200);
  await disableUser(hub.db, other.id);
  t.is((await exchange(hub, client, otherTokens.access_token)).json.error, 'invalid_grant');
});
