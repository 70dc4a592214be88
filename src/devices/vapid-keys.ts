import type { Knex } from 'knex';
import webpush from 'web-push';
import type { PushConfig } from '../platform/config.ts';
import { createSecretBox } from '../platform/crypto/secret-box.ts';
import { vapidKeyQueries } from '../queries/vapid-keys.ts';

export interface VapidKeys {
  /** Uncompressed P-256 point, base64url: the `applicationServerKey` a browser subscribes with. */
  publicKey: string;
  privateKey: string;
  subject: string;
}

export const vapidKeyPurpose = 'vapid-private-key';

/**
 * The hub's VAPID key pair (RFC 8292): the configured one, or the one made on the first start and
 * kept in the database, its private half sealed with the master secret like the signing keys.
 * Every instance reads the same pair: of two first starts at once, the first insert wins.
 */
export async function loadVapidKeys(db: Knex, push: PushConfig, masterSecret: string): Promise<VapidKeys> {
  if (push.vapid) return { ...push.vapid, subject: push.vapidSubject };
  const box = createSecretBox(masterSecret, vapidKeyPurpose);
  const stored =
    (await vapidKeyQueries.current(db)) ??
    (await (() => {
      const made = webpush.generateVAPIDKeys();
      return vapidKeyQueries.insertOnce(db, { public_key: made.publicKey, private_key_sealed: box.seal(made.privateKey) });
    })());
  return { publicKey: stored.public_key, privateKey: box.open(stored.private_key_sealed), subject: push.vapidSubject };
}
