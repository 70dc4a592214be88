import { randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';
import type { EmailConfig } from './config.ts';

export interface Session {
  sub: string;
  name: string | undefined;
  email: string | undefined;
  idToken: string;
}

interface PendingSignIn {
  verifier: string;
  state: string;
  nonce: string;
  at: number;
}

/** "Sign in with VEZE": authorization code + PKCE (S256) at the hub, sessions kept in memory. */
export class SignIn {
  private readonly pending = new Map<string, PendingSignIn>();
  private readonly sessions = new Map<string, Session>();
  private readonly config: EmailConfig;
  private readonly client: oidc.Configuration;

  private constructor(config: EmailConfig, client: oidc.Configuration) {
    this.config = config;
    this.client = client;
  }

  static async discover(config: EmailConfig): Promise<SignIn> {
    // A development hub at http://localhost; a real one is https, where this option is not used.
    const options = config.issuer.startsWith('http://') ? { execute: [oidc.allowInsecureRequests] } : {};
    const client = await oidc.discovery(new URL(config.issuer), config.clientId, config.clientSecret, oidc.ClientSecretBasic(config.clientSecret), options);
    return new SignIn(config, client);
  }

  /** Starts a sign-in: the hub URL to send the browser to, and the cookie that ties the callback to it. */
  async start(): Promise<{ url: string; cookie: string }> {
    const id = randomBytes(16).toString('base64url');
    const pending: PendingSignIn = { verifier: oidc.randomPKCECodeVerifier(), state: oidc.randomState(), nonce: oidc.randomNonce(), at: Date.now() };
    this.forgetStale();
    this.pending.set(id, pending);
    const url = oidc.buildAuthorizationUrl(this.client, {
      redirect_uri: `${this.config.publicUrl}/callback`,
      scope: 'openid email profile read',
      resource: this.config.resource,
      code_challenge: await oidc.calculatePKCECodeChallenge(pending.verifier),
      code_challenge_method: 'S256',
      state: pending.state,
      nonce: pending.nonce,
    });
    return { url: url.href, cookie: id };
  }

  /** Ends a sign-in at the callback: the new session's id. Throws when the callback is not the one started. */
  async finish(pendingId: string | undefined, callbackUrl: URL): Promise<string> {
    const pending = pendingId ? this.pending.get(pendingId) : undefined;
    if (!pending) throw new Error('No sign-in was started in this browser: start again.');
    this.pending.delete(pendingId!);
    const tokens = await oidc.authorizationCodeGrant(this.client, callbackUrl, {
      pkceCodeVerifier: pending.verifier,
      expectedState: pending.state,
      expectedNonce: pending.nonce,
    });
    const claims = tokens.claims()!;
    const id = randomBytes(24).toString('base64url');
    this.sessions.set(id, {
      sub: claims.sub,
      name: typeof claims.name === 'string' ? claims.name : undefined,
      email: typeof claims.email === 'string' ? claims.email : undefined,
      idToken: tokens.id_token!,
    });
    return id;
  }

  session(id: string | undefined): Session | undefined {
    return id ? this.sessions.get(id) : undefined;
  }

  /** Ends the session here; the hub URL that ends it there too. */
  signOut(id: string | undefined): string {
    const session = this.session(id);
    if (id) this.sessions.delete(id);
    if (!session) return '/';
    return oidc.buildEndSessionUrl(this.client, { id_token_hint: session.idToken, post_logout_redirect_uri: `${this.config.publicUrl}/` }).href;
  }

  private forgetStale(): void {
    const tenMinutesAgo = Date.now() - 10 * 60_000;
    for (const [id, pending] of this.pending) if (pending.at < tenMinutesAgo) this.pending.delete(id);
  }
}
