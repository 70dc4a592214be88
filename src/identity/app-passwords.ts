import { randomInt } from 'node:crypto';
import type { Knex } from 'knex';
import { z } from 'zod';
import { appendAudit, type AuditEntry, type AuditOrigin } from '../audit/audit-log.ts';
import type { CredentialHasher } from '../platform/crypto/credential-hash.ts';
import { badRequest, notFound } from '../platform/errors.ts';
import { appendEvent } from '../outbox/outbox.ts';
import { serviceQueries } from '../queries/services.ts';
import { parseInput } from '../platform/validation.ts';
import { appPasswordQueries, type AppPasswordListing, type AppPasswordRow } from '../queries/app-passwords.ts';
import { emailAccountKey, type Limits } from '../platform/rate-limits.ts';
import { userQueries } from '../queries/users.ts';
import { personDirectory } from '../queries/person-directory.ts';
import { deviceQueries } from '../queries/device-apps.ts';
import { requireVerifiedEmail } from './verified-email.ts';


export const deviceTypes = ['phone', 'tablet', 'desktop', 'watch', 'console', 'tv', 'browser extension', 'iot'] as const;
export type DeviceType = (typeof deviceTypes)[number];
/** The value of the "Service" field that means every service. */
export const allServices = 'all';

const letters = 'abcdefghijklmnopqrstuvwxyz';
const passwordLength = 16;

/**
 * Stored as an HMAC keyed from the master secret (src/platform/crypto/credential-hash.ts), not argon2id:
 * the password is 16 letters drawn by the hub from 26, about 75 bits, so no offline search can
 * walk the space even at GPU speed; a slow hash protects only guessable human passwords, and here
 * it would only make every IMAP poll cost a hash slot. The key means a stolen table alone tests
 * nothing, and a deterministic hash lets us look the password up by it.
 */
const purpose = 'app-password';

/** "abcd efgh ijkl mnop": how it is shown once. */
export const formatAppPassword = (password: string) => password.match(/.{4}/g)!.join(' ');

/** Spaces are ignored and case does not matter; anything else than 16 letters is not an app password. */
export function normaliseAppPassword(input: string): string | null {
  const value = input.replace(/\s+/g, '').toLowerCase();
  return value.length === passwordLength && /^[a-z]+$/.test(value) ? value : null;
}

const newAppPasswordSchema = z.object({
  deviceName: z.string().trim().min(1, 'Name the device, e.g. "Work laptop".').max(60, 'Use at most 60 characters.'),
  deviceType: z.enum(deviceTypes, { message: 'Choose a device type from the list.' }),
  service: z.string().trim().min(1, 'Choose a service, or all services.'),
  /** One of the person's registered devices, or empty: removing that device revokes the password. */
  device: z.string().trim().max(36).optional(),
});

/** Untrusted form input: checked here. */
export type NewAppPassword = { deviceName?: unknown; deviceType?: unknown; service?: unknown; device?: unknown };

export interface CreatedAppPassword {
  /** Shown once, in four groups of four letters. */
  password: string;
  row: AppPasswordRow;
}

export async function createAppPassword(db: Knex, hasher: CredentialHasher, userId: string, input: NewAppPassword, origin: AuditOrigin = {}): Promise<CreatedAppPassword> {
  await requireVerifiedEmail(db, userId);
  const data = parseInput(newAppPasswordSchema, input);
  let serviceId: string | null = null;
  let serviceSlug: string | null = null;
  if (data.service !== allServices) {
    const service = await serviceQueries.bySlug(db, data.service.toLowerCase());
    if (!service || service.status !== 'active') throw badRequest('service: Choose a service from the list.', { service: 'Choose a service from the list.' });
    serviceId = service.id;
    serviceSlug = service.slug;
  }
  let deviceId: string | null = null;
  if (data.device) {
    const device = z.uuid().safeParse(data.device).success ? await deviceQueries.activeById(db, userId, data.device) : undefined;
    if (!device) throw badRequest('device: Choose one of your devices from the list.', { device: 'Choose one of your devices from the list.' });
    deviceId = device.id;
  }
  let password = '';
  for (let i = 0; i < passwordLength; i++) password += letters[randomInt(letters.length)];
  return db.transaction(async (trx) => {
    const row = await appPasswordQueries.insert(trx, {
      user_id: userId,
      device_name: data.deviceName,
      device_type: data.deviceType,
      service_id: serviceId,
      device_id: deviceId,
      password_hash: hasher.hash(purpose, password),
    });
    // Events as docs/events.md documents them; the audit entry names the device as device_name.
    const details = { app_password_id: row.id, device: data.deviceName, device_type: data.deviceType, service: serviceSlug ?? allServices, ...(deviceId ? { device_id: deviceId } : {}) };
    await appendEvent(trx, { type: 'app_password.created', userId, service: serviceSlug, data: details });
    await appendAudit(trx, { action: 'app_password.created', actorId: userId, subjectId: userId, ...origin, data: auditDetails(details) });
    return { password: formatAppPassword(password), row };
  });
}

const auditDetails = ({ device, ...rest }: { device: string } & Record<string, unknown>) => ({ ...rest, device_name: device });

export const listAppPasswords = (db: Knex, userId: string): Promise<AppPasswordListing[]> => appPasswordQueries.activeForUser(db, userId);

export async function revokeAppPassword(db: Knex, userId: string, id: string, origin: AuditOrigin = {}): Promise<void> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) throw notFound('No such app password.');
  await db.transaction(async (trx) => {
    const [row] = await appPasswordQueries.revoke(trx, userId, id);
    if (!row) throw notFound('No such app password.');
    await revokedEvents(trx, [row], 'revoked', { actorId: userId, ...origin });
  });
}

async function revokedEvents(trx: Knex, rows: AppPasswordRow[], reason: string, who: AuditOrigin & { actorId?: string | null }) {
  for (const row of rows) {
    const service = row.service_id ? (await serviceQueries.byId(trx, row.service_id))?.slug ?? null : null;
    const details = { app_password_id: row.id, device: row.device_name, service: service ?? allServices, reason };
    await appendEvent(trx, { type: 'app_password.revoked', userId: row.user_id, service, data: details });
    await appendAudit(trx, { action: 'app_password.revoked', actorId: who.actorId ?? null, subjectId: row.user_id, ip: who.ip ?? null, userAgent: who.userAgent ?? null, data: auditDetails(details) });
  }
}

/** Revokes the live app passwords made for one registered device (it was removed), in the caller's transaction. */
export async function revokeDeviceAppPasswords(trx: Knex, userId: string, deviceId: string, who: AuditOrigin & { actorId?: string | null }): Promise<number> {
  const rows = await appPasswordQueries.revokeForDevice(trx, userId, deviceId);
  await revokedEvents(trx, rows, 'device_removed', who);
  return rows.length;
}

/**
 * Revokes every live app password of the account, e.g. when its password is reset or changed.
 * Runs in the caller's transaction when given one. Returns how many were revoked.
 */
export async function revokeAllAppPasswords(db: Knex, userId: string, reason = 'password_reset', who: AuditOrigin & { actorId?: string | null } = {}): Promise<number> {
  const run = async (trx: Knex) => {
    const rows = await appPasswordQueries.revokeAll(trx, userId);
    await revokedEvents(trx, rows, reason, who);
    return rows.length;
  };
  return (db as Knex.Transaction).isTransaction ? run(db) : db.transaction(run);
}

export interface VerifiedAppPassword {
  sub: string;
  device: string;
  device_type: string;
  service: string;
}

/**
 * Checks an app password that a service's client presents for one of its users. A password
 * made for another service is refused like a wrong one. Every check goes through the brute-force
 * limits on a budget per account and calling service (so one service's bad checks lock out
 * neither another service nor its other users); a locked account is answered like a wrong password.
 */
export async function verifyAppPassword(
  db: Knex,
  hasher: CredentialHasher,
  limits: Limits,
  input: { service: string; username: string; password: string },
  origin: Pick<AuditEntry, 'userAgent'> & { ip: string },
): Promise<VerifiedAppPassword | null> {
  const username = input.username.trim().slice(0, 254);
  if (username) await personDirectory.claimHomeOfEmail(db, username);
  const user = username ? await userQueries.byEmail(db, username) : undefined;
  const attempt = await limits.check('app_password', { accountKey: user?.id ?? emailAccountKey(username), ip: origin.ip, service: input.service });
  const normalised = normaliseAppPassword(input.password);
  // Looked up by hash: the same work whether or not the account exists.
  const candidate = normalised ?? `invalid:${input.password}`;
  const hash = hasher.hash(purpose, candidate);
  // One written before the HMAC still verifies by its SHA-256, and is re-hashed on this good use.
  const found = attempt.allowed ? await appPasswordQueries.byHash(db, [hash, hasher.legacy(purpose, candidate)]) : undefined;
  const good =
    attempt.allowed && normalised !== null && found !== undefined && user !== undefined && !found.disabled_at &&
    found.user_id === user.id && (found.service_slug === null || found.service_slug === input.service);
  if (!good) {
    await appendAudit(db, {
      action: 'app_password.failed',
      subjectId: user?.id ?? null,
      ...origin,
      data: { service: input.service, ...(attempt.allowed ? {} : { locked: true }), ...(found && user && found.user_id === user.id && found.service_slug !== input.service ? { reason: 'other_service' } : {}) },
    });
    await limits.fail(attempt);
    return null;
  }
  await limits.succeed(attempt);
  await db.transaction(async (trx) => {
    await appPasswordQueries.markUsed(trx, found.id, origin.ip || null, found.password_hash === hash ? undefined : hash);
    await appendAudit(trx, {
      action: 'app_password.used',
      actorId: found.user_id,
      subjectId: found.user_id,
      ...origin,
      data: { app_password_id: found.id, device_name: found.device_name, service: input.service },
    });
  });
  return { sub: found.user_id, device: found.device_name, device_type: found.device_type, service: input.service };
}
