import { createCredentialHasher } from './credential-hash.ts';
import { createSecretBox } from './secret-box.ts';

/**
 * The boxes that seal the hub's secrets at rest, one per purpose. Its own module so the CLI can
 * open what the hub sealed without loading the web app.
 */
export function createSecrets(secret: string) {
  return {
    keys: createSecretBox(secret, 'signing-keys'),
    clients: createSecretBox(secret, 'client-secrets'),
    totp: createSecretBox(secret, 'totp-seeds'),
    /** HMAC of recovery codes and app passwords (src/platform/crypto/credential-hash.ts). */
    credentials: createCredentialHasher(secret),
  };
}
