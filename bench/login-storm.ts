import { createHash, randomBytes } from 'node:crypto';
import { measureLoad, type LoadOptions, type Measurement } from './load.ts';
import { UserAgent } from './sign-in.ts';
import { percentile } from './sign-in-loop.ts';
import type { Target } from './target.ts';

export interface StormResult {
  people: number;
  /** How the sign-in POSTs were answered: status → count ("error" for no answer). */
  answers: Record<string, number>;
  /** From the first POST to the last answer, s. */
  stormSeconds: number;
  /** Client credentials over the whole load run. */
  tokenEndpoint: Measurement;
  /** p99 and count of token answers that arrived while sign-ins were still being answered, ms. */
  duringStorm: { p99: number; answers: number };
}

interface Browser {
  agent: UserAgent;
  action: string;
  /** This person's own address (the hub trusts X-Forwarded-For in the bench). */
  address: string;
  account: { email: string; password: string };
}

/** A browser at the hub's password form, ready to post it. */
async function atLoginForm(target: Target, index: number, accounts: Array<{ email: string; password: string }>): Promise<Browser> {
  const agent = new UserAgent();
  const address = `10.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}`;
  const authorization = new URL('/auth', target.url);
  authorization.search = new URLSearchParams({
    client_id: target.clientId,
    response_type: 'code',
    redirect_uri: target.redirectUri,
    scope: 'openid email',
    code_challenge: createHash('sha256').update(randomBytes(32).toString('base64url')).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();
  const { response, url } = await agent.follow(authorization.href, target.url, { headers: { 'x-forwarded-for': address } });
  const uid = /\/interaction\/([\w-]+)\/login/.exec(await response.text())?.[1];
  if (!uid) throw new Error(`no login form at ${url}`);
  return { agent, action: `${target.url}/interaction/${uid}/login`, address, account: accounts[index % accounts.length]! };
}

/**
 * `people` password sign-ins posted at once while client credentials run at full load: does the
 * token endpoint stay fast, and how many sign-ins are turned away (503) by the hasher's cap?
 * Each person comes from an address of their own and the accounts are shared by only a few, so
 * what answers is the hasher's cap, not the brute-force limits (those are for guessing).
 */
export async function loginStorm(target: Target, tokenLoad: LoadOptions, people: number): Promise<StormResult> {
  const accounts = target.stormAccounts?.length ? target.stormAccounts : [{ email: target.email, password: target.password }];
  const browsers: Browser[] = [];
  for (let i = 0; i < people; i += 20) {
    browsers.push(...(await Promise.all(Array.from({ length: Math.min(20, people - i) }, (_, j) => atLoginForm(target, i + j, accounts)))));
  }
  const answers: Record<string, number> = {};
  let stormSeconds = 0;
  const timeline: Array<[at: number, ms: number]> = [];
  const load = measureLoad({ ...tokenLoad, onLatency: (ms) => timeline.push([performance.now(), ms]) });
  // Let the token load reach its pace, then everyone presses "Sign in" at once.
  await new Promise((resolve) => setTimeout(resolve, Math.min(1000, (tokenLoad.duration * 1000) / 4)));
  const stormStart = performance.now();
  await Promise.all(
    browsers.map(async ({ agent, action, address, account }) => {
      let key: string;
      try {
        const response = await agent.request(action, {
          method: 'POST',
          body: new URLSearchParams({ email: account.email, password: account.password }),
          headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': address },
          signal: AbortSignal.timeout(60_000),
        });
        await response.arrayBuffer();
        key = String(response.status);
      } catch {
        key = 'error';
      }
      answers[key] = (answers[key] ?? 0) + 1;
    }),
  );
  const stormEnd = performance.now();
  stormSeconds = (stormEnd - stormStart) / 1000;
  const tokenEndpoint = await load;
  const during = timeline.filter(([at]) => at >= stormStart && at <= stormEnd).map(([, ms]) => ms).sort((a, b) => a - b);
  return { people, answers, stormSeconds, tokenEndpoint, duringStorm: { p99: percentile(during, 99), answers: during.length } };
}
