import type { LoadOptions, Measurement } from './load.ts';
import { basicAuth, mintRefreshTokens, signIn, UserAgent } from './sign-in.ts';
import type { Target } from './target.ts';

export interface LoadCase {
  id: string;
  label: string;
  /** What the issue asks of this case, in words, and how to check it from the two measurements. */
  target: string;
  met(ours: Measurement, bare: Measurement): boolean;
  /** Everything the requests need (tokens), made before the clock starts. */
  /** `turns`: how many times the load will be started and stopped after the warm-up. */
  prepare(target: Target, connections: number, turns: number): Promise<Omit<LoadOptions, 'duration' | 'connections'>>;
  /** A good answer's body (a 200 alone does not say an introspected token was active). */
  expect?: (body: string) => boolean;
}

const form = { 'content-type': 'application/x-www-form-urlencoded' };
const atLeast = (ratio: number) => (ours: Measurement, bare: Measurement) => ours.failed === 0 && ours.rps >= ratio * bare.rps;

/** An opaque access token (no resource: a plain OIDC client), from one full sign-in. */
async function plainAccessToken(target: Target): Promise<string> {
  return (await signIn(target, new UserAgent(), { scope: 'openid email profile' })).access_token;
}

export const loadCases: LoadCase[] = [
  {
    id: 'discovery',
    label: 'discovery (GET /.well-known/openid-configuration)',
    target: 'faster than bare',
    met: atLeast(1),
    prepare: async (t) => ({ url: `${t.url}/.well-known/openid-configuration` }),
  },
  {
    id: 'jwks',
    label: 'JWKS (GET /jwks)',
    target: 'faster than bare',
    met: atLeast(1),
    prepare: async (t) => ({ url: `${t.url}/jwks` }),
  },
  {
    id: 'client-credentials',
    label: 'client credentials (ES256 JWT for a resource)',
    target: '≥ 0.8× bare',
    met: atLeast(0.8),
    prepare: async (t) => ({
      url: `${t.url}/token`,
      method: 'POST',
      headers: { ...form, authorization: basicAuth(t) },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource: t.resource }).toString(),
    }),
  },
  {
    id: 'refresh',
    label: 'refresh with rotation (opaque AT + RS256 ID token)',
    target: '≥ 0.8× bare',
    met: atLeast(0.8),
    async prepare(t, connections, turns) {
      // Every request spends a refresh token never used before. The pool is seeded by code-flow
      // sign-ins; each answer's rotated token goes back in. A load that stops (after the warm-up,
      // after each turn) loses the tokens of the requests it leaves unanswered: a connection's
      // worth and more per stop, so the pool starts with two per connection and stop.
      const wanted = connections * 2 * (turns + 1);
      const pool = await mintRefreshTokens(t, wanted, 60_000);
      if (pool.length < wanted) throw new Error(`${t.name}: minted only ${pool.length} refresh tokens`);
      return {
        url: `${t.url}/token`,
        method: 'POST',
        headers: { ...form, authorization: basicAuth(t) },
        nextBody: () => new URLSearchParams({ grant_type: 'refresh_token', refresh_token: pool.shift() ?? 'pool-ran-dry' }).toString(),
        onAnswer(status, body) {
          if (status !== 200) return;
          const rotated = (JSON.parse(body) as { refresh_token?: string }).refresh_token;
          if (rotated) pool.push(rotated);
        },
      };
    },
  },
  {
    id: 'userinfo',
    label: 'userinfo (GET /me, opaque bearer)',
    target: '≥ 0.8× bare',
    met: atLeast(0.8),
    prepare: async (t) => ({ url: `${t.url}/me`, headers: { authorization: `Bearer ${await plainAccessToken(t)}` } }),
    expect: (body) => typeof (JSON.parse(body) as { email?: string }).email === 'string',
  },
  {
    id: 'introspection',
    label: 'introspection (POST /token/introspection)',
    target: '≥ 0.8× bare',
    met: atLeast(0.8),
    prepare: async (t) => ({
      url: `${t.url}/token/introspection`,
      method: 'POST',
      headers: { ...form, authorization: basicAuth(t) },
      body: new URLSearchParams({ token: await plainAccessToken(t) }).toString(),
    }),
    expect: (body) => (JSON.parse(body) as { active?: boolean }).active === true,
  },
];
