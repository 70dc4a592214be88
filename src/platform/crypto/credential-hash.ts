import { createHmac } from 'node:crypto';
import { sha256 } from './tokens.ts';
import { deriveKey } from './secret-box.ts';

/**
 * Hashes of the high-entropy credentials the hub hands out and looks up by hash (recovery codes,
 * app passwords): HMAC-SHA256 under a key derived from the master secret, so a copy of the
 * database alone cannot test a guess against them, not even offline at GPU speed.
 *
 * Rows written before this were plain SHA-256 of the same input; `legacy` computes that so they
 * still verify, and their owners re-hash them with `hash` on their first good use.
 */
export interface CredentialHasher {
  /** "h1:<hex>" of HMAC(key, "<purpose>:<value>"). */
  hash(purpose: string, value: string): string;
  /** The old unkeyed form, sha256("<purpose>:<value>"): read, never written. */
  legacy(purpose: string, value: string): string;
}

export function createCredentialHasher(masterSecret: string): CredentialHasher {
  const key = deriveKey(masterSecret, 'credential-hash');
  return {
    hash: (purpose, value) => `h1:${createHmac('sha256', key).update(`${purpose}:${value}`).digest('hex')}`,
    legacy: (purpose, value) => sha256(`${purpose}:${value}`),
  };
}
