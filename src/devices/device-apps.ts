import type { Knex } from 'knex';
import { z } from 'zod';
import { appendAudit, type ActorOrigin } from '../audit/audit-log.ts';
import { notFound } from '../platform/errors.ts';
import { appendEvent } from '../outbox/outbox.ts';
import { parseInput } from '../platform/validation.ts';
import { revokeDeviceAppPasswords } from '../identity/app-passwords.ts';
import { deviceQueries, type DeviceRow } from '../queries/device-apps.ts';
import { grantQueries } from '../queries/oidc-models.ts';
import { pushSubscriptionQueries } from '../queries/push-subscriptions.ts';

export const deviceKinds = ['phone', 'tablet', 'desktop', 'watch', 'console', 'tv', 'browser_extension', 'iot', 'other'] as const;

const newDeviceSchema = z.object({
  kind: z.enum(deviceKinds, { message: `kind is one of ${deviceKinds.join(', ')}.` }),
  name: z.string().trim().min(1, 'name cannot be empty.').max(80, 'Use at most 80 characters.').optional(),
  os: z.string({ message: 'Give the operating system, such as "iOS 18.2".' }).trim().min(1, 'Give the operating system.').max(100),
  app_version: z.string({ message: 'Give the app version, such as "2.4.1".' }).trim().min(1, 'Give the app version.').max(50),
  push_token: z.string().trim().min(1, 'push_token cannot be empty.').max(4096).optional(),
});

export type NewDevice = z.input<typeof newDeviceSchema>;

export interface PublicDevice {
  id: string;
  kind: string;
  name: string | null;
  os: string;
  app_version: string;
  client_id: string | null;
  /** Whether the hub can push to it (the token itself is not shown again). */
  push: boolean;
  created_at: string;
  last_seen_at: string;
}

export function publicDevice(row: DeviceRow): PublicDevice {
  return {
    id: row.id,
    kind: row.kind,
    name: row.name,
    os: row.os,
    app_version: row.app_version,
    client_id: row.client_id,
    push: row.push_token !== null,
    created_at: new Date(row.created_at).toISOString(),
    last_seen_at: new Date(row.last_seen_at).toISOString(),
  };
}

const eventData = (device: DeviceRow) => ({ device_id: device.id, kind: device.kind, name: device.name, os: device.os, app_version: device.app_version, client_id: device.client_id });

/** What the registering token says about where it came from: its client and its grant's reference (grant_ref). */
export interface RegisteringToken {
  clientId: string | null;
  grantRef: string | null;
}

/** The grant behind the token and the session that grant's tokens were issued in, as the device row keeps them. */
async function linksOf(db: Knex, userId: string, token: RegisteringToken) {
  const grant = token.clientId && token.grantRef ? await grantQueries.byReference(db, userId, token.clientId, token.grantRef) : undefined;
  return {
    grant_id: grant?.id ?? null,
    grant_ref: grant ? token.grantRef : null,
    session_uid: grant ? await grantQueries.sessionUidOf(db, grant.id) : null,
  };
}

/**
 * Registers a device of the person's, tied to the grant (and so the refresh tokens) of the token
 * that registers it and to the session behind that grant. One grant is one device: an app that
 * registers again with the same grant, or the same push token, refreshes its device instead of
 * adding another.
 */
export async function registerDevice(db: Knex, userId: string, token: RegisteringToken, input: unknown): Promise<{ device: PublicDevice; created: boolean }> {
  const data = parseInput(newDeviceSchema, input);
  return db.transaction(async (trx) => {
    const links = await linksOf(trx, userId, token);
    const known =
      (data.push_token ? await deviceQueries.byPushToken(trx, userId, data.push_token) : undefined) ??
      (links.grant_ref ? await deviceQueries.byGrantRef(trx, userId, links.grant_ref) : undefined);
    const details = { kind: data.kind, name: data.name ?? null, os: data.os, app_version: data.app_version, client_id: token.clientId, ...links };
    if (known) return { device: publicDevice(await deviceQueries.refresh(trx, known.id, details)), created: false };
    const device = await deviceQueries.insert(trx, { ...details, user_id: userId, push_token: data.push_token ?? null });
    await appendEvent(trx, { type: 'device.registered', userId, data: eventData(device) });
    return { device: publicDevice(device), created: true };
  });
}

export async function listDevices(db: Knex, userId: string): Promise<PublicDevice[]> {
  return (await deviceQueries.active(db, userId)).map(publicDevice);
}

/**
 * Removes a device and everything it could do at once, in one transaction: its grant with every
 * token issued under it (refresh tokens; its access tokens stop at the hub API, whose callers'
 * grants are read on each call), its app passwords, and so its live streams (they read their
 * grant again on `device.revoked`). The browser session the grant came from is the person's, not
 * the device's: it stays.
 */
export async function revokeDevice(db: Knex, userId: string, deviceId: string, origin: ActorOrigin = {}): Promise<void> {
  if (!z.uuid().safeParse(deviceId).success) throw notFound('No such device.');
  await db.transaction(async (trx) => {
    const device = await deviceQueries.activeById(trx, userId, deviceId);
    if (!device) throw notFound('No such device.');
    await deviceQueries.revoke(trx, device.id);
    if (device.grant_id) await grantQueries.revoke(trx, [device.grant_id]);
    const who = { actorId: origin.actorId ?? userId, ip: origin.ip ?? null, userAgent: origin.userAgent ?? null };
    const appPasswords = await revokeDeviceAppPasswords(trx, userId, device.id, who);
    const pushSubscriptions = await pushSubscriptionQueries.deleteOfDevice(trx, device.id);
    const data = { ...eventData(device), grant_revoked: device.grant_id !== null, app_passwords_revoked: appPasswords, push_subscriptions_removed: pushSubscriptions };
    await appendEvent(trx, { type: 'device.revoked', userId, data });
    await appendAudit(trx, { action: 'device.revoked', actorId: who.actorId, subjectId: userId, ip: who.ip, userAgent: who.userAgent, data });
  });
}

const deviceNameSchema = z.object({ name: z.string({ message: 'Give the device a name.' }).trim().min(1, 'name cannot be empty.').max(80, 'Use at most 80 characters.') });

/** Renames one of the person's devices; audited (device.renamed, the old and new name) and announced in the same transaction. */
export async function renameDevice(db: Knex, userId: string, deviceId: string, name: unknown, origin: ActorOrigin = {}): Promise<PublicDevice> {
  const { name: clean } = parseInput(deviceNameSchema, { name });
  if (!z.uuid().safeParse(deviceId).success) throw notFound('No such device.');
  return db.transaction(async (trx) => {
    const before = await deviceQueries.activeById(trx, userId, deviceId);
    if (!before) throw notFound('No such device.');
    const device = await deviceQueries.rename(trx, before.id, clean);
    const data = { ...eventData(device), previous_name: before.name };
    await appendEvent(trx, { type: 'device.renamed', userId, data });
    await appendAudit(trx, { action: 'device.renamed', actorId: origin.actorId ?? userId, subjectId: userId, ip: origin.ip ?? null, userAgent: origin.userAgent ?? null, data });
    return publicDevice(device);
  });
}
