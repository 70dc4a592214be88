/** What the parent needs to drive one server under test: where it is and who may sign in. */
export interface Target {
  /** "ours" (the hub) or "bare" (node-oidc-provider with its defaults). */
  name: 'ours' | 'bare';
  url: string;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  /** The resource server a client-credentials request names (JWT, ES256). */
  resource: string;
  email: string;
  password: string;
  /** People for the login storm (the hub only): several, since each account admits only a few parallel attempts. */
  stormAccounts?: Array<{ email: string; password: string }>;
}

/** Messages a server child sends its parent over IPC. */
export type ChildMessage = { type: 'ready'; target: Target } | { type: 'failed'; message: string } | { type: 'stats'; queries: number; statements: Record<string, number> };

export const benchCallback = 'http://127.0.0.1:9/callback';
