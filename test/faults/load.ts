/**
 * What the fault tests drive and then compare: sign-ins through the pages and token requests,
 * each answer timed and kept, and the checks that what the clients got is what the database holds.
 */
import type { Knex } from 'knex';
import * as oidc from 'openid-client';
import { verifyAuditChain, type ChainReport } from '../../src/audit/verify.ts';
import { callbackUrl } from '../helpers/fixtures.ts';
import { postForm, basic } from '../helpers/oidc.ts';
import { UserAgent } from '../helpers/user-agent.ts';

export interface Answer {
  step: string;
  status: number;
  ms: number;
  retryAfter: string | null;
  body: string;
  /** When it was answered (ms since the epoch). */
  at?: number;
}

export interface Tokens {
  access_token: string;
  refresh_token?: string;
  id_token?: string;
}

export interface Party {
  url: string;
  client: { client_id: string; client_secret?: string };
  person: { email: string; password: string };
}

/** Every answer that was not the expected one, and every token a client was given. */
export class Ledger {
  readonly failures: Answer[] = [];
  readonly issued: Tokens[] = [];
  /** Refresh tokens spent by a successful refresh (they are rightly no longer active). */
  readonly spent = new Set<string>();
  signIns = 0;
  /** Login forms posted (whatever the answer, or none): the most sign-ins the hub can have recorded. */
  loginPosts = 0;
  refreshes = 0;
  lastSuccessAt = 0;
}

const limitMs = 10_000;

/** One request, timed; a request that does not answer within 10 s counts as hung (status 0). */
async function timed(step: string, run: (signal: AbortSignal) => Promise<Response>): Promise<{ answer: Answer; response: Response | null }> {
  const started = Date.now();
  try {
    const response = await run(AbortSignal.timeout(limitMs));
    const body = response.status >= 300 && response.status < 400 ? '' : await response.text();
    return { answer: { at: Date.now(), step, status: response.status, ms: Date.now() - started, retryAfter: response.headers.get('retry-after'), body }, response };
  } catch (error) {
    return { answer: { step, status: 0, ms: Date.now() - started, retryAfter: null, body: String(error) }, response: null };
  }
}

/** A password sign-in through the pages, consent, and the code grant; null when a step did not answer as it should. */
export async function signIn(party: Party, ledger: Ledger, rp: oidc.Configuration): Promise<Tokens | null> {
  const agent = new UserAgent();
  const verifier = oidc.randomPKCECodeVerifier();
  let next = oidc.buildAuthorizationUrl(rp, {
    redirect_uri: callbackUrl,
    scope: 'openid email offline_access',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    prompt: 'consent',
  }).href;
  for (let hop = 0; hop < 15; hop++) {
    if (next.startsWith(callbackUrl)) {
      const code = new URL(next).searchParams.get('code');
      if (!code) {
        ledger.failures.push({ step: 'callback', status: 0, ms: 0, retryAfter: null, body: next });
        return null;
      }
      const { answer } = await timed('token (code)', (signal) => fetch(`${party.url}/token`, {
        method: 'POST',
        signal,
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(party.client) },
        body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: callbackUrl, code_verifier: verifier }),
      }));
      if (answer.status !== 200) {
        ledger.failures.push(answer);
        return null;
      }
      const tokens = JSON.parse(answer.body) as Tokens;
      ledger.issued.push(tokens);
      ledger.signIns++;
      ledger.lastSuccessAt = Date.now();
      return tokens;
    }
    const page = await timed(new URL(next).pathname.replace(/\/[\w-]{20,}/, '/:id'), (signal) => agent.request(next, { signal }));
    if (page.answer.status >= 300 && page.answer.status < 400) {
      next = new URL(page.response!.headers.get('location')!, next).toString();
      continue;
    }
    const form = page.answer.status === 200 ? /\/interaction\/([\w-]+)\/(login|confirm)/.exec(page.answer.body) : null;
    if (!form) {
      ledger.failures.push(page.answer);
      return null;
    }
    const fields: Record<string, string> = form[2] === 'login' ? { email: party.person.email, password: party.person.password } : {};
    // Counted before it is sent: a post cut off by a crash may still have been acted on.
    if (form[2] === 'login') ledger.loginPosts++;
    const posted = await timed(`POST ${form[2]}`, (signal) => agent.request(`${party.url}/interaction/${form[1]}/${form[2]}`, {
      method: 'POST',
      signal,
      body: new URLSearchParams(fields),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    }));
    if (posted.answer.status < 300 || posted.answer.status >= 400) {
      ledger.failures.push(posted.answer);
      return null;
    }
    next = new URL(posted.response!.headers.get('location')!, party.url).toString();
  }
  ledger.failures.push({ step: 'hops', status: 0, ms: 0, retryAfter: null, body: 'too many redirects' });
  return null;
}

/** Spends the refresh token of the last tokens issued, once; a refresh that fails is not retried (a retry of a consumed token revokes the grant). */
export async function refresh(party: Party, ledger: Ledger, tokens: Tokens): Promise<Tokens | null> {
  const spend = tokens.refresh_token;
  if (!spend) return null;
  const { answer } = await timed('token (refresh)', (signal) => fetch(`${party.url}/token`, {
    method: 'POST',
    signal,
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(party.client) },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: spend }),
  }));
  if (answer.status !== 200) {
    ledger.failures.push(answer);
    // Its fate is unknown: the hub may have consumed it before the fault cut the answer.
    ledger.spent.add(spend);
    return null;
  }
  ledger.spent.add(spend);
  const fresh = JSON.parse(answer.body) as Tokens;
  ledger.issued.push(fresh);
  ledger.refreshes++;
  ledger.lastSuccessAt = Date.now();
  return fresh;
}

/** Sign-ins and refreshes, one worker per party (a person of its own), until `stop()` says so. */
export function drive(parties: Party[], ledger: Ledger, rp: oidc.Configuration, stop: () => boolean): Promise<void> {
  const worker = async (party: Party) => {
    while (!stop()) {
      const tokens = await signIn(party, ledger, rp);
      if (tokens) await refresh(party, ledger, tokens);
      else await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  return Promise.all(parties.map(worker)).then(() => undefined);
}

/** Token introspection as the client that holds the token. */
export async function introspect(party: Party, token: string): Promise<{ active: boolean }> {
  const answer = await postForm(`${party.url}/token/introspection`, { token }, { authorization: basic(party.client) });
  if (answer.status !== 200) throw new Error(`introspection answered ${answer.status}: ${answer.text}`);
  return answer.json as { active: boolean };
}

/** Tokens a client was given that the hub no longer knows (only refresh tokens it spent itself may be inactive). */
export async function lostTokens(party: Party, ledger: Ledger): Promise<string[]> {
  const lost: string[] = [];
  for (const tokens of ledger.issued) {
    if (!(await introspect(party, tokens.access_token)).active) lost.push(`access token ${tokens.access_token.slice(0, 8)}…`);
    if (tokens.refresh_token && !ledger.spent.has(tokens.refresh_token) && !(await introspect(party, tokens.refresh_token)).active) lost.push(`refresh token ${tokens.refresh_token.slice(0, 8)}…`);
  }
  return lost;
}

export interface Holdings {
  chain: ChainReport;
  signInEntries: number;
  sessionEvents: number;
  unpublished: number;
  outboxIds: string[];
}

/** What the database holds after the fault: the audit chain, the sign-in entries and events, the outbox. */
export async function holdings(db: Knex, options: { dataDir: string; secret: string }): Promise<Holdings> {
  const chain = await verifyAuditChain(db, options);
  const count = async (query: Knex.QueryBuilder) => Number(((await query.count({ n: '*' }).first()) as { n: number | string }).n);
  return {
    chain,
    signInEntries: await count(db('audit_log').where({ action: 'signin.succeeded' })),
    sessionEvents: await count(db('outbox').where({ type: 'session.created' })),
    unpublished: await count(db('outbox').whereNull('published_at')),
    outboxIds: (await db('outbox').orderBy('seq').select('id')).map((r: { id: string }) => r.id),
  };
}

/** Event ids that appear more or fewer times than once in the published stream. */
export function notOnce(outboxIds: string[], published: string[]): string[] {
  const seen = new Map<string, number>();
  for (const id of published) seen.set(id, (seen.get(id) ?? 0) + 1);
  return outboxIds.filter((id) => seen.get(id) !== 1).map((id) => `${id} ×${seen.get(id) ?? 0}`);
}

/**
 * Outbox events missing from the published stream, and how many were sent more than once. A
 * relay round cut between publishing and marking (the database gone at that instant) sends its
 * events again, by design: the outbox is at-least-once and consumers dedupe by event id
 * (test/events/relay.test.ts shows live clients get each once).
 */
export function publication(outboxIds: string[], published: string[]): { missing: string[]; resent: number } {
  const seen = new Map<string, number>();
  for (const id of published) seen.set(id, (seen.get(id) ?? 0) + 1);
  return { missing: outboxIds.filter((id) => !seen.has(id)), resent: outboxIds.filter((id) => (seen.get(id) ?? 0) > 1).length };
}
