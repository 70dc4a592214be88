import type { Knex } from 'knex';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { UAParser } from 'ua-parser-js';
import { z } from 'zod';
import { appendAudit, type AuditOrigin } from '../audit/audit-log.ts';
import { AppError, conflict, notFound } from '../platform/errors.ts';
import { appendEvent } from '../outbox/outbox.ts';
import { parseInput } from '../platform/validation.ts';
import { challengeQueries, passkeyQueries, type ChallengePurpose, type PasskeyRow } from '../queries/passkeys.ts';
import { personDirectory } from '../queries/person-directory.ts';
import { inRegion } from '../db/regions.ts';
import { requireVerifiedEmail } from './verified-email.ts';


/** Who we are to authenticators: the RP ID is the issuer's host name, the only accepted origin the issuer's. */
export interface RelyingParty {
  id: string;
  name: string;
  origin: string;
}

export function relyingPartyFor(issuer: string): RelyingParty {
  const url = new URL(issuer);
  return { id: url.hostname, name: 'UniQVerse', origin: url.origin };
}

/** COSE algorithm ids we accept: EdDSA (-8), ES256 (-7), RS256 (-257). */
export const allowedAlgorithms = [-8, -7, -257];
const challengeTtlMs = 5 * 60_000;
const ceremonyTimeoutMs = 120_000;

const b64url = z.string().regex(/^[A-Za-z0-9_-]*$/, 'must be base64url').max(16_384);
const credentialShape = {
  id: b64url.min(1),
  rawId: b64url.min(1),
  type: z.literal('public-key'),
  clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
};
const registrationSchema = z.object({
  ...credentialShape,
  response: z.object({
    clientDataJSON: b64url,
    attestationObject: b64url,
    transports: z.array(z.string().max(32)).max(10).optional(),
    authenticatorData: b64url.optional(),
    publicKey: b64url.optional(),
    publicKeyAlgorithm: z.number().optional(),
  }),
});
const authenticationSchema = z.object({
  ...credentialShape,
  response: z.object({
    clientDataJSON: b64url,
    authenticatorData: b64url,
    signature: b64url,
    userHandle: b64url.optional(),
  }),
});

/** Parses the JSON text the browser glue posts; junk is a 400, never a 500. */
function parseCredential<S extends z.ZodType>(schema: S, text: unknown): z.output<S> {
  if (typeof text !== 'string' || text.length > 65_536) throw new AppError('invalid_input', 'The passkey response is missing.');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new AppError('invalid_input', 'The passkey response is not valid JSON.');
  }
  return parseInput(schema, json);
}

const refused = (why: string) => new AppError('invalid_input', `The passkey was not accepted: ${why}`);

/** The library's reasons, in words a person can act on. */
function explain(error: unknown): string {
  const message = (error as Error).message ?? '';
  if (/challenge/i.test(message)) return 'this request expired or was already used. Try again.';
  if (/user verification/i.test(message) || /could not be verified/i.test(message)) return 'the authenticator did not verify you (PIN, fingerprint or face). User verification is required.';
  if (/origin/i.test(message)) return 'it was made for another site.';
  if (/rp ?id/i.test(message)) return 'it was made for another site.';
  if (/algorithm/i.test(message)) return 'its key algorithm is not allowed (use ES256, RS256 or EdDSA).';
  if (/counter/i.test(message)) return 'the signature counter did not move forward (a cloned authenticator?).';
  if (/signature/i.test(message)) return 'the signature is not valid.';
  return 'the authenticator response could not be verified.';
}

async function issueChallenge(db: Knex, challenge: string, purpose: ChallengePurpose, boundTo: string, userId: string | null) {
  await challengeQueries.deleteExpired(db);
  await challengeQueries.insert(db, { challenge, purpose, bound_to: boundTo, user_id: userId, expires_at: new Date(Date.now() + challengeTtlMs) });
}

/** A challenge check for the library: true once, for a live challenge issued for this purpose and binding. */
const consumeChallenge = (db: Knex, purpose: ChallengePurpose, boundTo: string, userId: string | null) => async (challenge: string) => {
  const row = await challengeQueries.consume(db, challenge, purpose, boundTo);
  return Boolean(row) && (userId === null || row!.user_id === userId);
};

export function defaultPasskeyName(userAgent: string | undefined): string {
  const { browser, os } = UAParser(userAgent ?? '');
  const name = [browser.name, os.name && `on ${os.name}`].filter(Boolean).join(' ');
  return name ? `Passkey (${name})` : 'Passkey';
}

export const listPasskeys = (db: Knex, userId: string) => passkeyQueries.forUser(db, userId);

/** Options for navigator.credentials.create(); the challenge is bound to the portal session asking. */
export async function passkeyRegistrationOptions(
  db: Knex,
  rp: RelyingParty,
  user: { id: string; email: string; name: string },
  sessionUid: string,
): Promise<PublicKeyCredentialCreationOptionsJSON> {
  await requireVerifiedEmail(db, user.id);
  const existing = await passkeyQueries.forUser(db, user.id);
  const options = await generateRegistrationOptions({
    rpName: rp.name,
    rpID: rp.id,
    userName: user.email,
    userID: new TextEncoder().encode(user.id),
    userDisplayName: user.name,
    timeout: ceremonyTimeoutMs,
    attestationType: 'none',
    excludeCredentials: existing.map((p) => ({ id: p.id, transports: p.transports })),
    authenticatorSelection: { residentKey: 'required', requireResidentKey: true, userVerification: 'required' },
    supportedAlgorithmIDs: allowedAlgorithms,
  });
  await issueChallenge(db, options.challenge, 'register', sessionUid, user.id);
  return options;
}

/** Verifies a new passkey (user verification required, allowed algorithms only) and stores it. */
export async function registerPasskey(
  db: Knex,
  rp: RelyingParty,
  userId: string,
  sessionUid: string,
  responseText: unknown,
  options: { name?: string; origin?: AuditOrigin } = {},
): Promise<PasskeyRow> {
  await requireVerifiedEmail(db, userId);
  const response = parseCredential(registrationSchema, responseText) as RegistrationResponseJSON;
  let verification;
  try {
    verification = await verifyRegistrationResponse({
      response,
      expectedChallenge: consumeChallenge(db, 'register', sessionUid, userId),
      expectedOrigin: rp.origin,
      expectedRPID: rp.id,
      requireUserPresence: true,
      requireUserVerification: true,
      supportedAlgorithmIDs: allowedAlgorithms,
    });
  } catch (error) {
    throw refused(explain(error));
  }
  if (!verification.verified) throw refused('the authenticator response could not be verified.');
  const info = verification.registrationInfo;
  const name = (options.name?.trim() || defaultPasskeyName(options.origin?.userAgent ?? undefined)).slice(0, 80);
  const row = {
    id: info.credential.id,
    user_id: userId,
    public_key: Buffer.from(info.credential.publicKey),
    counter: info.credential.counter,
    transports: info.credential.transports ?? response.response.transports ?? [],
    device_type: info.credentialDeviceType,
    backed_up: info.credentialBackedUp,
    aaguid: info.aaguid,
    name,
  };
  return db.transaction(async (trx) => {
    const inserted = await passkeyQueries.insert(trx, row);
    if (inserted.length === 0) throw conflict('This passkey is already registered.');
    await appendEvent(trx, { type: 'mfa.enrolled', userId, data: { method: 'passkey', passkey_id: row.id, name } });
    await appendAudit(trx, { action: 'mfa.enrolled', actorId: userId, subjectId: userId, ...options.origin, data: { method: 'passkey', passkey_id: row.id, name } });
    return (await passkeyQueries.byId(trx, row.id))!;
  });
}

/**
 * Options for navigator.credentials.get(): with no user, any discoverable passkey (sign-in
 * without a password); with a user, only theirs (passkey as the second factor).
 */
export async function passkeyAuthenticationOptions(
  db: Knex,
  rp: RelyingParty,
  purpose: Exclude<ChallengePurpose, 'register'>,
  boundTo: string,
  userId: string | null,
): Promise<PublicKeyCredentialRequestOptionsJSON> {
  const allow = userId ? await passkeyQueries.forUser(db, userId) : [];
  const options = await generateAuthenticationOptions({
    rpID: rp.id,
    timeout: ceremonyTimeoutMs,
    userVerification: 'required',
    allowCredentials: allow.map((p) => ({ id: p.id, transports: p.transports })),
  });
  await issueChallenge(db, options.challenge, purpose, boundTo, userId);
  return options;
}

/**
 * Verifies an assertion: the challenge (single use, bound), the origin and RP ID, the
 * signature, user verification, and a signature counter that moves forward.
 * Returns the passkey, whose user_id is who signed in.
 */
export async function verifyPasskeyAssertion(
  db: Knex,
  rp: RelyingParty,
  purpose: Exclude<ChallengePurpose, 'register'>,
  boundTo: string,
  userId: string | null,
  responseText: unknown,
): Promise<PasskeyRow> {
  const response = parseCredential(authenticationSchema, responseText) as AuthenticationResponseJSON;
  const handle = response.response.userHandle;
  // Data residency: the passkey is in its owner's region, named by the user handle (or the person signing in); the
  // challenge stays where it was issued, and the request moves to their region once the passkey has signed.
  const named = userId ?? (handle ? Buffer.from(handle, 'base64url').toString('utf8') : null);
  const home = named ? await personDirectory.homeOf(db, named) : null;
  const inHome = <T>(work: () => Promise<T>): Promise<T> => (home ? inRegion(db, home, work) : work());
  const passkey = await inHome(() => passkeyQueries.byId(db, response.id));
  if (!passkey) throw refused('this passkey is not registered here. It may have been removed.');
  if (userId && passkey.user_id !== userId) throw refused('this passkey belongs to another account.');
  if (handle && Buffer.from(handle, 'base64url').toString('utf8') !== passkey.user_id) throw refused('the passkey names another account.');
  const counter = Number(passkey.counter);
  let verification;
  try {
    verification = await verifyAuthenticationResponse({
      response,
      expectedChallenge: consumeChallenge(db, purpose, boundTo, userId),
      expectedOrigin: rp.origin,
      expectedRPID: rp.id,
      credential: { id: passkey.id, publicKey: new Uint8Array(passkey.public_key), counter, transports: passkey.transports },
      requireUserVerification: true,
    });
  } catch (error) {
    throw refused(explain(error));
  }
  if (!verification.verified) throw refused('the signature is not valid.');
  if (!(await inHome(() => passkeyQueries.advanceCounter(db, passkey.id, counter, verification.authenticationInfo.newCounter)))) {
    throw refused('the signature counter did not move forward.');
  }
  await personDirectory.claimHomeOfPerson(db, passkey.user_id);
  return passkey;
}

/** Renames one of the person's passkeys; audited (passkey.renamed, the old and new name) in the same transaction. */
export async function renamePasskey(db: Knex, userId: string, id: string, name: string, origin: AuditOrigin = {}): Promise<void> {
  const clean = parseInput(z.string().trim().min(1, 'Enter a name.').max(80, 'Use at most 80 characters.'), name);
  await db.transaction(async (trx) => {
    const before = (await passkeyQueries.forUser(trx, userId)).find((passkey) => passkey.id === id);
    if (!before || (await passkeyQueries.rename(trx, userId, id, clean)) === 0) throw notFound('No such passkey.');
    await appendAudit(trx, { action: 'passkey.renamed', actorId: userId, subjectId: userId, ...origin, data: { passkey_id: id, name: clean, previous_name: before.name } });
  });
}

export async function removePasskey(db: Knex, userId: string, id: string, origin: AuditOrigin = {}): Promise<void> {
  await db.transaction(async (trx) => {
    const [removed] = await passkeyQueries.remove(trx, userId, id);
    if (!removed) throw notFound('No such passkey.');
    await appendEvent(trx, { type: 'mfa.removed', userId, data: { method: 'passkey', passkey_id: id, name: removed.name } });
    await appendAudit(trx, { action: 'mfa.removed', actorId: userId, subjectId: userId, ...origin, data: { method: 'passkey', passkey_id: id, name: removed.name } });
  });
}
