/**
 * A relying party and a person's browser, over plain HTTP: builds the authorization request
 * (code + S256), walks the sign-in pages of either server, and redeems the code.
 */
import { createHash, randomBytes } from 'node:crypto';
import { UserAgent, signInThroughPages } from '../test/helpers/user-agent.ts';
import type { Target } from './target.ts';

export const basicAuth = (target: Target) =>
  `Basic ${Buffer.from(`${encodeURIComponent(target.clientId)}:${encodeURIComponent(target.clientSecret)}`).toString('base64')}`;

export interface TokenSet {
  access_token: string;
  refresh_token?: string;
  id_token?: string;
}

/** The bare provider's devInteractions: a login form (any account id) and a consent form. */
async function signInWithDevInteractions(agent: UserAgent, target: Target, authorizationUrl: string): Promise<string> {
  let { response, url } = await agent.follow(authorizationUrl, target.url);
  for (let step = 0; step < 5; step++) {
    if (!url.startsWith(target.url)) return url;
    const html = await response.text();
    const action = /action="([^"]+)"/.exec(html)?.[1];
    const prompt = /name="prompt" value="(\w+)"/.exec(html)?.[1];
    if (!action || !prompt) throw new Error(`unexpected page at ${url}: ${html.slice(0, 300)}`);
    const form: Record<string, string> = prompt === 'login' ? { prompt, login: target.email, password: target.password } : { prompt };
    const posted = await agent.postForm(new URL(action, target.url).toString(), form);
    if (posted.status < 300 || posted.status >= 400) throw new Error(`sign-in step answered ${posted.status}: ${(await posted.text()).slice(0, 300)}`);
    ({ response, url } = await agent.follow(new URL(posted.headers.get('location')!, target.url).toString(), target.url));
  }
  throw new Error('too many sign-in steps');
}

export interface SignInOptions {
  scope?: string;
  resource?: string;
  /** prompt=consent: needed for offline_access (the provider drops it otherwise). */
  consent?: boolean;
}

/**
 * One authorization-code sign-in to the end: the pages (a password when the agent has no session
 * yet), then the code redeemed at the token endpoint. Returns the relying party's tokens.
 */
export async function signIn(target: Target, agent: UserAgent, options: SignInOptions = {}): Promise<TokenSet> {
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(16).toString('base64url');
  const authorization = new URL('/auth', target.url);
  authorization.search = new URLSearchParams({
    client_id: target.clientId,
    response_type: 'code',
    redirect_uri: target.redirectUri,
    scope: options.scope ?? 'openid email profile',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    state,
    ...(options.resource ? { resource: options.resource } : {}),
    ...(options.consent ? { prompt: 'consent' } : {}),
  }).toString();
  const callback =
    target.name === 'ours'
      ? await signInThroughPages(agent, target.url, authorization.href, target.email, target.password)
      : await signInWithDevInteractions(agent, target, authorization.href);
  if (!callback.startsWith(target.redirectUri)) throw new Error(`${target.name}: sign-in ended at ${callback}`);
  const params = new URL(callback).searchParams;
  if (params.get('state') !== state || !params.get('code')) throw new Error(`${target.name}: bad callback ${callback}`);
  const response = await fetch(new URL('/token', target.url), {
    method: 'POST',
    headers: { authorization: basicAuth(target), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: params.get('code')!, redirect_uri: target.redirectUri, code_verifier: verifier }),
  });
  const body = (await response.json()) as TokenSet & { error?: string };
  if (!response.ok) throw new Error(`${target.name}: code redemption answered ${response.status} ${JSON.stringify(body)}`);
  return body;
}

/**
 * Refresh tokens for the refresh case, one per request: a few browsers sign in with the
 * password once, then keep authorizing on their session (no password) until the pool is full
 * or the time is up.
 */
export async function mintRefreshTokens(target: Target, count: number, budgetMs: number, browsers = 4): Promise<string[]> {
  const pool: string[] = [];
  const deadline = Date.now() + budgetMs;
  await Promise.all(
    Array.from({ length: browsers }, async () => {
      const agent = new UserAgent();
      while (pool.length < count && Date.now() < deadline) {
        const tokens = await signIn(target, agent, { scope: 'openid email profile offline_access', consent: true });
        if (!tokens.refresh_token) throw new Error(`${target.name}: no refresh token issued`);
        pool.push(tokens.refresh_token);
      }
    }),
  );
  return pool;
}

export { UserAgent };
