import { createHash } from 'node:crypto';
import type { JsonWebKey } from 'node:crypto';
import * as jose from 'jose';
import type { Knex } from 'knex';
import type { SecretBox } from '../platform/crypto/secret-box.ts';
import { AppError } from '../platform/errors.ts';
import { grantClaim } from '../platform/crypto/grant-reference.ts';
import { hubResource } from './provider.ts';
import { loadKeySet } from './signing-keys.ts';

/** The claims of an access token for the hub's own API (`<ISSUER>/hub`) that we rely on. */
export interface HubTokenClaims {
  sub: string;
  client_id: string;
  scope: string;
  exp: number;
  /** Which grant it came from (src/platform/crypto/grant-reference.ts): the token holds only while that grant lives. */
  grantRef?: string;
  cnf?: { jkt?: string };
  /** A client-credentials token (a service acting as itself): the provider sets sub to the client id. */
  isClient: boolean;
  scopes: Set<string>;
}

const publicMembers: Record<string, string[]> = { EC: ['kty', 'crv', 'x', 'y'], RSA: ['kty', 'n', 'e'], OKP: ['kty', 'crv', 'x'] };

/** The public members of a signing key: what a verifier needs of the key set the provider loads. */
export function publicJwk(key: JsonWebKey): jose.JWK {
  const out: Record<string, unknown> = { kid: key.kid, alg: key.alg, use: 'sig' };
  for (const member of publicMembers[key.kty as string] ?? []) out[member] = (key as Record<string, unknown>)[member];
  return out as jose.JWK;
}

export class InvalidToken extends AppError {
  readonly challenge: string;
  constructor(message: string, scheme = 'Bearer', error = 'invalid_token') {
    super('unauthorized', message);
    this.challenge = `${scheme} error="${error}", error_description="${message.replace(/"/g, "'")}"`;
  }
}

export interface HubTokenVerifierOptions {
  db: Knex;
  keyBox: SecretBox;
  issuer: string;
  /** How long the verifier trusts its copy of the keys before reading them again. */
  refreshMs?: number;
}

/**
 * Verifies access tokens for `<ISSUER>/hub` offline: ES256 JWTs our provider signed with the keys
 * in the database (derived from the same key set the provider loads, so no HTTP to our own JWKS).
 * An unknown kid (a key published since) reloads the keys, at most once every few seconds.
 */
export class HubTokenVerifier {
  private readonly options: Required<HubTokenVerifierOptions>;
  private keys: ReturnType<typeof jose.createLocalJWKSet> | null = null;
  private loadedAt = 0;
  private loading: Promise<void> | null = null;

  constructor(options: HubTokenVerifierOptions) {
    this.options = { refreshMs: 60_000, ...options };
  }

  get audience(): string {
    return hubResource(this.options.issuer);
  }

  private async load(): Promise<void> {
    this.loading ??= (async () => {
      try {
        const set = await loadKeySet(this.options.db, this.options.keyBox);
        const keys = set.jwks.keys.filter((k) => k.alg === 'ES256').map(publicJwk);
        this.keys = jose.createLocalJWKSet({ keys });
        this.loadedAt = Date.now();
      } finally {
        this.loading = null;
      }
    })();
    await this.loading;
  }

  /** Forget the keys (the provider rebuilt with a new key set). */
  invalidate(): void {
    this.loadedAt = 0;
  }

  async verify(token: string): Promise<HubTokenClaims> {
    if (!this.keys || Date.now() - this.loadedAt > this.options.refreshMs) await this.load();
    let payload: jose.JWTPayload;
    try {
      payload = await this.check(token);
    } catch (error) {
      if (!(error instanceof jose.errors.JWKSNoMatchingKey) || Date.now() - this.loadedAt < 5000) throw this.explain(error);
      await this.load();
      try {
        payload = await this.check(token);
      } catch (again) {
        throw this.explain(again);
      }
    }
    const { sub, client_id: clientId, scope } = payload as { sub?: unknown; client_id?: unknown; scope?: unknown };
    if (typeof sub !== 'string' || typeof clientId !== 'string') throw new InvalidToken('The access token has no subject or client.');
    const scopeText = typeof scope === 'string' ? scope : '';
    return {
      sub,
      client_id: clientId,
      scope: scopeText,
      exp: payload.exp!,
      ...(typeof payload[grantClaim] === 'string' ? { grantRef: payload[grantClaim] } : {}),
      ...(payload.cnf ? { cnf: payload.cnf as { jkt?: string } } : {}),
      isClient: sub === clientId,
      scopes: new Set(scopeText.split(' ').filter(Boolean)),
    };
  }

  private async check(token: string): Promise<jose.JWTPayload> {
    const { payload } = await jose.jwtVerify(token, this.keys!, {
      issuer: this.options.issuer,
      audience: this.audience,
      typ: 'at+jwt',
      algorithms: ['ES256'],
      requiredClaims: ['exp', 'sub'],
      clockTolerance: 5,
    });
    return payload;
  }

  private explain(error: unknown): InvalidToken {
    if (error instanceof jose.errors.JWTExpired) return new InvalidToken('The access token has expired.');
    if (error instanceof jose.errors.JWTClaimValidationFailed && error.claim === 'aud') {
      return new InvalidToken(`The access token is not for this API: ask for resource ${this.audience}.`);
    }
    return new InvalidToken('The access token is invalid.');
  }
}

/**
 * Checks a DPoP proof (RFC 9449) for a sender-constrained token: signed by the key the token is
 * bound to, for this method and URL, fresh, and naming this token.
 */
export async function verifyDpopProof(proof: string | undefined, token: string, jkt: string, method: string, url: string): Promise<void> {
  if (!proof) throw new InvalidToken('This access token is DPoP-bound: send it as "Authorization: DPoP <token>" with a DPoP proof.', 'DPoP', 'invalid_dpop_proof');
  try {
    const { payload, protectedHeader } = await jose.jwtVerify(proof, jose.EmbeddedJWK, { typ: 'dpop+jwt', maxTokenAge: '300s', clockTolerance: 5 });
    const thumbprint = await jose.calculateJwkThumbprint(protectedHeader.jwk!);
    const ath = createHash('sha256').update(token).digest('base64url');
    const htu = new URL(url);
    htu.search = '';
    htu.hash = '';
    if (thumbprint !== jkt) throw new Error('key mismatch');
    if (payload.htm !== method || typeof payload.htu !== 'string' || payload.htu.replace(/[?#].*$/, '') !== htu.href || payload.ath !== ath) throw new Error('claims mismatch');
  } catch (error) {
    if (error instanceof InvalidToken) throw error;
    throw new InvalidToken('The DPoP proof is invalid for this request.', 'DPoP', 'invalid_dpop_proof');
  }
}
