import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import type { Page } from 'playwright-core';
import { projectRoot } from '../../src/platform/views.ts';
import type { Hub } from '../../src/app/start.ts';
import { newPage, signInInBrowser } from '../helpers/browser.ts';
import * as oidc from 'openid-client';
import { callbackUrl, makeClient, makePerson, relyingParty, type Person } from '../helpers/fixtures.ts';
import { signInThroughPages } from '../helpers/user-agent.ts';
import { startTestHub } from '../helpers/hub.ts';
import type { UserAgent } from '../helpers/user-agent.ts';
import { NamedAgent, userAgents } from './named-agent.ts';

export { NamedAgent, userAgents };

export interface SignedInBrowser {
  hub: Hub;
  person: Person;
  page: Page;
}

/** A hub, a person, and a Chromium page signed in as them on the portal. */
export async function signedInBrowser(
  t: ExecutionContext,
  options: { admin?: boolean; name?: string; width?: number; javaScriptEnabled?: boolean; hub?: Hub; person?: Person } = {},
): Promise<SignedInBrowser> {
  const hub = options.hub ?? (await startTestHub(t));
  const person = options.person ?? (await makePerson(hub, { admin: options.admin, name: options.name }));
  const { page } = await newPage(t, { width: options.width, javaScriptEnabled: options.javaScriptEnabled });
  // Generous: these run beside other suites on a small shared machine (argon2 sign-ins, Chromium).
  page.setDefaultTimeout(60_000);
  await signInInBrowser(page, hub.url, person.email, person.password);
  return { hub, person, page };
}

let axe: string | null = null;
const axeSource = () => (axe ??= readFileSync(path.join(projectRoot, 'node_modules/axe-core/axe.min.js'), 'utf8'));

/** Runs axe-core on the page: no serious or critical violation (labels, headings, contrast, landmarks…). */
export async function assertAccessible(t: ExecutionContext, page: Page, label = page.url()): Promise<void> {
  // Evaluated rather than added as a <script>: the portal's CSP rightly refuses inline scripts.
  await page.evaluate(axeSource());
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: Document, options: unknown): Promise<{ violations: Array<{ id: string; impact: string; help: string; nodes: Array<{ target: string[] }> }> }> } }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
  const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  t.deepEqual(serious, [], `accessibility violations on ${label}: ${JSON.stringify(serious, null, 2)}`);
}

/** A cookie-keeping HTTP client signed in to the portal (for checks a browser cannot make, like a POST without a token). */
export async function signedInAgent(hub: Hub, person: Person, userAgent = userAgents.macChrome): Promise<UserAgent> {
  const agent = new NamedAgent(userAgent);
  let { response, url } = await agent.follow(`${hub.url}/account`, hub.url);
  const html = await response.text();
  const uid = /\/interaction\/([\w-]+)\/login/.exec(html)?.[1];
  if (!uid) throw new Error(`no sign-in form at ${url}`);
  const posted = await agent.postForm(`${hub.url}/interaction/${uid}/login`, { email: person.email, password: person.password });
  ({ response, url } = await agent.follow(new URL(posted.headers.get('location')!, hub.url).toString(), hub.url));
  if (new URL(url).pathname !== '/account' || response.status !== 200) throw new Error(`sign-in ended at ${url} (${response.status})`);
  return agent;
}

/** The CSRF token the portal gave this agent's session (from the page's meta tag). */
export async function csrfTokenOf(agent: UserAgent, hub: Hub): Promise<string> {
  const html = await (await agent.request(`${hub.url}/account`)).text();
  const token = /<meta name="csrf-token" content="([^"]+)"/.exec(html)?.[1];
  if (!token) throw new Error('no CSRF token on the account page');
  return token;
}

/**
 * A person signed in to a service from another device: a session named by `userAgent`, a grant
 * with the scopes asked, and tokens (a refresh token too, with offline_access).
 */
export async function serviceSession(hub: Hub, person: Person, service: string, userAgent: string, scope = 'openid email profile offline_access') {
  const client = await makeClient(hub, { service });
  const rp = await relyingParty(hub, client);
  const verifier = oidc.randomPKCECodeVerifier();
  const url = oidc.buildAuthorizationUrl(rp, {
    redirect_uri: callbackUrl,
    scope,
    prompt: 'consent',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  const agent = new NamedAgent(userAgent);
  const landed = await signInThroughPages(agent, hub.url, url.href, person.email, person.password);
  const tokens = await oidc.authorizationCodeGrant(rp, new URL(landed), { pkceCodeVerifier: verifier });
  return { agent, client, rp, tokens };
}

/** Rows the provider holds for a person, by model (Session, Grant, AccessToken, RefreshToken…). */
export async function providerRows(hub: Hub, userId: string): Promise<Record<string, number>> {
  const rows: Array<{ model: string; n: string }> = await hub.db('oidc_models').where({ account_id: userId }).groupBy('model').select('model', hub.db.raw('count(*) as n'));
  return Object.fromEntries(rows.map((r) => [r.model, Number(r.n)]));
}

/** Waits (polling, with a deadline) until `check` holds. */
export async function eventually<T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
