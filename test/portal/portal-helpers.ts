import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import type { Page } from 'playwright-core';
import { projectRoot } from '../../src/http/views.ts';
import type { Hub } from '../../src/hub.ts';
import { newPage, signInInBrowser } from '../helpers/browser.ts';
import { makePerson, type Person } from '../helpers/fixtures.ts';
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
