import type { AddressInfo } from 'node:net';
import type { ExecutionContext } from 'ava';
import * as jose from 'jose';
import * as oidc from 'openid-client';
import type { Hub } from '../../src/app/start.ts';
import type { NewClient } from '../../src/catalog/clients.ts';
import { startTestHub, type TestHubOptions } from './hub.ts';
import { callbackUrl, makeClient, makePerson, makeService, relyingParty, type Person } from './fixtures.ts';
import { UserAgent, signInThroughPages } from './user-agent.ts';

export type RelyingParty = Awaited<ReturnType<typeof relyingParty>>;
export type Client = Awaited<ReturnType<typeof makeClient>>;

export interface Scene {
  hub: Hub;
  person: Person;
  service: Awaited<ReturnType<typeof makeService>>;
  client: Client;
  rp: RelyingParty;
}

/** A hub of the test's own with one person, one service and one client of that service. */
export async function scene(
  t: ExecutionContext,
  options: { hub?: TestHubOptions; slug?: string; firstParty?: boolean; client?: Partial<NewClient> } = {},
): Promise<Scene> {
  const hub = await startTestHub(t, options.hub);
  return sceneOn(hub, options);
}

/** The same scene on a hub that is already running. */
export async function sceneOn(hub: Hub, options: { slug?: string; firstParty?: boolean; client?: Partial<NewClient> } = {}): Promise<Scene> {
  const person = await makePerson(hub);
  const service = await makeService(hub, options.slug, { firstParty: options.firstParty ?? false });
  const client = await makeClient(hub, { service: service.slug, ...options.client });
  const rp = await relyingParty(hub, client);
  return { hub, person, service, client, rp };
}

export interface Authorized {
  /** Where the hub finally sent the browser: the client's callback with a code. */
  callback: URL;
  verifier: string;
  state: string;
  agent: UserAgent;
}

/** Runs an authorization request (code + S256) through the sign-in pages to the callback. */
export async function authorize(
  s: Pick<Scene, 'hub' | 'rp' | 'person'>,
  params: Record<string, string> = {},
  agent = new UserAgent(),
): Promise<Authorized> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(s.rp, {
    redirect_uri: callbackUrl,
    scope: 'openid email profile offline_access',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    // The provider grants offline_access (a refresh token) only when consent is asked for.
    prompt: 'consent',
    ...params,
  });
  const callback = await signInThroughPages(agent, s.hub.url, url.href, s.person.email, s.person.password);
  if (!callback.startsWith(params.redirect_uri ?? callbackUrl)) throw new Error(`sign-in ended at ${callback}`);
  return { callback: new URL(callback), verifier, state, agent };
}

/** Signs the person in and redeems the code: the tokens a relying party holds after sign-in. */
export async function signedInTokens(s: Pick<Scene, 'hub' | 'rp' | 'person'>, params: Record<string, string> = {}) {
  const { callback, verifier, state } = await authorize(s, params);
  return oidc.authorizationCodeGrant(s.rp, callback, { pkceCodeVerifier: verifier, expectedState: state });
}

export const basic = (client: { client_id: string; client_secret?: string }) =>
  `Basic ${Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret ?? '')}`).toString('base64')}`;

/** A raw form POST, for requests openid-client would refuse to send (downgrades, replays, junk). */
export async function postForm(url: string, form: Record<string, string>, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: 'POST',
    body: new URLSearchParams(form),
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    redirect: 'manual',
  });
  const text = await response.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON: the caller looks at the text
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** A token request authenticated as `client` (basic auth for confidential clients, client_id in the body otherwise). */
export function tokenRequest(hub: Hub, client: { client_id: string; client_secret?: string }, form: Record<string, string>) {
  return client.client_secret
    ? postForm(`${hub.url}/token`, form, { authorization: basic(client) })
    : postForm(`${hub.url}/token`, { ...form, client_id: client.client_id });
}

/** The OAuth error code of a rejected openid-client call. */
export async function oauthError(t: ExecutionContext, promise: Promise<unknown>): Promise<string | undefined> {
  const error = await t.throwsAsync(promise);
  return (error as oidc.ResponseBodyError | undefined)?.error;
}

/** Polls until `check` returns a value other than undefined, or fails after `ms`. */
export async function eventually<T>(check: () => Promise<T | undefined>, ms = 10_000, every = 100): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, every));
  }
}

export async function publishedKids(hub: Hub): Promise<string[]> {
  const response = await fetch(`${hub.url}/jwks`);
  const { keys } = (await response.json()) as { keys: Array<{ kid: string }> };
  return keys.map((k) => k.kid).sort();
}

export const verifyAccessToken = (hub: Hub, token: string, audience: string) =>
  jose.jwtVerify(token, jose.createRemoteJWKSet(new URL(`${hub.url}/jwks`)), { issuer: hub.url, audience, typ: 'at+jwt' });

/** Makes hub.close() safe to call again (a test that stops a hub early; its teardown closes it too). */
export function closeOnce(hub: Hub): Hub {
  const close = hub.close.bind(hub);
  let closing: Promise<void> | null = null;
  hub.close = () => (closing ??= close());
  return hub;
}

/** The port a hub listens on (its issuer may name another address). */
export const listeningPort = (hub: Hub) => (hub.server.address() as AddressInfo).port;

/** Where a hub really listens, whatever its issuer says. */
export const listeningUrl = (hub: Hub) => `http://127.0.0.1:${listeningPort(hub)}`;
