import { generateKeyPairSync, randomUUID, type JsonWebKey } from 'node:crypto';
import type { Knex } from 'knex';
import { entryBy, type AuditActor } from '../audit/actors.ts';
import { appendAudit } from '../audit/audit-log.ts';
import type { SecretBox } from '../platform/crypto/secret-box.ts';
import { ConfigError } from '../platform/config.ts';
import { signingKeyQueries } from '../queries/signing-keys.ts';

/** ID tokens default to RS256; per-service access tokens are ES256; EdDSA is offered to clients that ask. */
export const signingAlgs = ['RS256', 'ES256', 'EdDSA'] as const;
export type SigningAlg = (typeof signingAlgs)[number];

/** How long a retired key stays published: longer than any JWT we sign lives (ID and access tokens: 1 hour). */
export const retiredKeyLifetimeSeconds = 24 * 60 * 60;

export interface KeySet {
  /** Private JWKS for the provider: for each alg the signing key comes first. */
  jwks: { keys: JsonWebKey[] };
  /** Changes whenever the published set or a signing key changes. */
  fingerprint: string;
  /** The earliest future moment at which the set changes by itself (a pending key activates). */
  nextChangeAt: Date | null;
  /** The key each alg signs with now (an alg without one is missing), since when (the metrics' key age) and until when. */
  signers: Array<{ alg: SigningAlg; kid: string; activatedAt: Date; expiresAt: Date | null }>;
}

interface KeyRow {
  kid: string;
  alg: SigningAlg;
  private_jwk_sealed: string;
  activates_at: Date;
  expires_at: Date | null;
}

function generate(alg: SigningAlg): { privateJwk: JsonWebKey; publicJwk: JsonWebKey } {
  const pair =
    alg === 'RS256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : alg === 'ES256'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : generateKeyPairSync('ed25519');
  return { privateJwk: pair.privateKey.export({ format: 'jwk' }), publicJwk: pair.publicKey.export({ format: 'jwk' }) };
}

async function insertKey(trx: Knex, box: SecretBox, alg: SigningAlg, activatesAt: Date): Promise<string> {
  const kid = `${alg.toLowerCase()}-${randomUUID().slice(0, 8)}`;
  const { privateJwk, publicJwk } = generate(alg);
  const meta = { kid, alg, use: 'sig' };
  await signingKeyQueries.insert(trx, {
    kid,
    alg,
    private_jwk_sealed: box.seal(JSON.stringify({ ...privateJwk, ...meta })),
    public_jwk: { ...publicJwk, ...meta },
    activates_at: activatesAt,
  });
  return kid;
}

/** First start: one active key per alg. Serialised so that two instances starting together agree. */
export async function ensureSigningKeys(db: Knex, box: SecretBox): Promise<string[]> {
  return db.transaction(async (trx) => {
    await signingKeyQueries.lock(trx);
    const present = await signingKeyQueries.unretiredAlgs(trx);
    const created: string[] = [];
    for (const alg of signingAlgs) if (!present.has(alg)) created.push(await insertKey(trx, box, alg, new Date()));
    return created;
  });
}

/**
 * Adds the next key for each alg. It is published at once, and signs only after
 * `activationDelaySeconds`, by when every instance has reloaded its key set and publishes it.
 * The keys it replaces stay published until every token they signed has expired. `rotatedBy`
 * audits the rotation (keys.rotated: kids and algs, never key material) in the same transaction.
 */
export async function rotateSigningKeys(
  db: Knex,
  box: SecretBox,
  { activationDelaySeconds, now = new Date(), rotatedBy }: { activationDelaySeconds: number; now?: Date; rotatedBy?: AuditActor },
): Promise<Array<{ kid: string; alg: SigningAlg; activates_at: string }>> {
  const activatesAt = new Date(now.getTime() + activationDelaySeconds * 1000);
  const retireAt = new Date(activatesAt.getTime() + retiredKeyLifetimeSeconds * 1000);
  return db.transaction(async (trx) => {
    await signingKeyQueries.lock(trx);
    await signingKeyQueries.retireAll(trx, retireAt);
    const added = [];
    for (const alg of signingAlgs) {
      added.push({ kid: await insertKey(trx, box, alg, activatesAt), alg, activates_at: activatesAt.toISOString() });
    }
    if (rotatedBy) await appendAudit(trx, entryBy(rotatedBy, { action: 'keys.rotated', data: { keys: added } }));
    return added;
  });
}

export async function loadKeySet(db: Knex, box: SecretBox, now = new Date()): Promise<KeySet> {
  const rows = (await signingKeyQueries.published(db, now)) as KeyRow[];

  const keys: JsonWebKey[] = [];
  const signing: string[] = [];
  const signers: KeySet['signers'] = [];
  let nextChangeAt: Date | null = null;
  for (const alg of signingAlgs) {
    const ofAlg = rows.filter((r) => r.alg === alg);
    const active = ofAlg.find((r) => new Date(r.activates_at) <= now);
    // The signer is the newest active key; the provider signs with the first key of an alg.
    const ordered = active ? [active, ...ofAlg.filter((r) => r !== active)] : ofAlg;
    if (active) {
      signing.push(active.kid);
      signers.push({ alg, kid: active.kid, activatedAt: new Date(active.activates_at), expiresAt: active.expires_at ? new Date(active.expires_at) : null });
    }
    for (const row of ordered) {
      keys.push(JSON.parse(openPrivateKey(box, row.private_jwk_sealed, row.kid)) as JsonWebKey);
      const activates = new Date(row.activates_at);
      if (activates > now && (!nextChangeAt || activates < nextChangeAt)) nextChangeAt = activates;
      if (row.expires_at) {
        const expires = new Date(row.expires_at);
        if (!nextChangeAt || expires < nextChangeAt) nextChangeAt = expires;
      }
    }
  }
  const fingerprint = `${rows.map((r) => r.kid).sort().join(',')}|${signing.join(',')}`;
  return { jwks: { keys }, fingerprint, nextChangeAt, signers };
}

function openPrivateKey(box: SecretBox, sealed: string, kid: string): string {
  try {
    return box.open(sealed);
  } catch {
    // The one way this fails on a sound row: the hub runs with another master secret than the one that sealed it.
    throw new ConfigError(`UNIQVERSE_SECRET does not open the signing keys in this database (key ${kid}): it is not the secret they were sealed with. Start the hub with the UNIQVERSE_SECRET this database was set up with.`);
  }
}

/** What keeps a key set from signing every kind of token: an alg with no active key, or one whose key has expired. */
export function signingKeyProblem(keys: Pick<KeySet, 'signers'>, now = new Date()): string | null {
  const problems: string[] = [];
  for (const alg of signingAlgs) {
    const signer = keys.signers.find((s) => s.alg === alg);
    if (!signer) problems.push(`no active signing key for ${alg}`);
    else if (signer.expiresAt && signer.expiresAt <= now) problems.push(`the ${alg} signing key ${signer.kid} expired at ${signer.expiresAt.toISOString()}`);
  }
  return problems.length ? `${problems.join('; ')} (run "uniqverse keys rotate --activate-in 0")` : null;
}

export async function listSigningKeys(db: Knex) {
  return signingKeyQueries.list(db);
}
