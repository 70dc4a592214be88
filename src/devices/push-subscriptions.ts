import type { Knex } from 'knex';
import { z } from 'zod';
import { appendAudit, type AuditOrigin, type AuditEntry } from '../audit/audit-log.ts';
import { describeUserAgent } from '../identity/browser-names.ts';
import { appendEvent } from '../outbox/outbox.ts';
import { AppError, badRequest, notFound } from '../platform/errors.ts';
import { parseInput } from '../platform/validation.ts';
import { deviceQueries } from '../queries/device-apps.ts';
import { pushSubscriptionQueries, type PushKind, type PushSubscriptionRow } from '../queries/push-subscriptions.ts';

const base64url = (bytes: number, what: string) =>
  z
    .string({ message: `Give keys.${what}.` })
    .regex(/^[A-Za-z0-9_-]+={0,2}$/, `keys.${what} is base64url.`)
    .refine((v) => Buffer.from(v, 'base64url').length === bytes, `keys.${what} is ${bytes} bytes, base64url.`);

/** The browser's PushSubscription as `JSON.stringify(subscription)` gives it. */
const webPushSchema = z.object({
  endpoint: z
    .string({ message: 'Give endpoint, the push service URL of the subscription.' })
    .max(2048, 'endpoint is at most 2048 characters.')
    .refine((v) => URL.parse(v)?.protocol === 'https:', 'endpoint is the https:// URL of a push service.'),
  expirationTime: z.number().nullable().optional(),
  keys: z.object(
    {
      p256dh: base64url(65, 'p256dh').refine((v) => Buffer.from(v, 'base64url')[0] === 4, 'keys.p256dh is an uncompressed P-256 point.'),
      auth: base64url(16, 'auth'),
    },
    { message: 'Give keys: p256dh and auth, as the browser\'s PushSubscription has them.' },
  ),
});

const nativeSchema = z.object({
  kind: z.enum(['apns', 'fcm'], { message: 'kind is apns or fcm (a browser sends its PushSubscription instead).' }),
  token: z.string({ message: 'Give token, the device token APNs or FCM gave the app.' }).trim().min(8, 'token is the device token APNs or FCM gave the app.').max(4096).regex(/^[\w:.-]+$/, 'token has letters, digits and : . _ - only.'),
});

type ParsedSubscription = { kind: PushKind; endpoint: string; p256dh: string | null; auth: string | null };

function parseSubscription(input: unknown, allowNative: boolean): ParsedSubscription {
  const native = typeof input === 'object' && input !== null && 'kind' in input;
  if (native) {
    if (!allowNative) throw badRequest('Only a browser subscription (its PushSubscription) can be added here.', { kind: 'Not here.' });
    const data = parseInput(nativeSchema, input);
    return { kind: data.kind, endpoint: data.token, p256dh: null, auth: null };
  }
  const data = parseInput(webPushSchema, input);
  return { kind: 'webpush', endpoint: data.endpoint, p256dh: data.keys.p256dh, auth: data.keys.auth };
}

export interface PublicPushSubscription {
  id: string;
  kind: PushKind;
  device_id: string | null;
  label: string;
  enabled: boolean;
  created_at: string;
  last_success_at: string | null;
}

export const publicPushSubscription = (row: PushSubscriptionRow): PublicPushSubscription => ({
  id: row.id,
  kind: row.kind,
  device_id: row.device_id,
  label: row.label,
  enabled: row.enabled,
  created_at: new Date(row.created_at).toISOString(),
  last_success_at: row.last_success_at ? new Date(row.last_success_at).toISOString() : null,
});

type Described = Pick<PushSubscriptionRow, 'id' | 'user_id' | 'kind' | 'device_id' | 'label'>;

const eventData = (row: Described) => ({ subscription_id: row.id, kind: row.kind, device_id: row.device_id, label: row.label });

async function save(trx: Knex, userId: string, parsed: ParsedSubscription, deviceId: string | null, label: string, origin: AuditOrigin) {
  const { row, created, previousUserId } = await pushSubscriptionQueries.upsert(trx, { user_id: userId, device_id: deviceId, label, ...parsed });
  if (previousUserId) await removed(trx, previousUserId, { ...row, user_id: previousUserId }, 'taken_over', { actorId: userId, ...origin });
  if (created || previousUserId) {
    await appendEvent(trx, { type: 'push_subscription.created', userId, data: eventData(row) });
    await appendAudit(trx, { action: 'push_subscription.created', actorId: userId, subjectId: userId, ...origin, data: eventData(row) });
  }
  return { subscription: publicPushSubscription(row), created: created || previousUserId !== null };
}

async function removed(trx: Knex, userId: string, row: Described, reason: 'unsubscribed' | 'expired' | 'taken_over', by: Omit<AuditEntry, 'action'>) {
  const data = { ...eventData(row), reason };
  await appendEvent(trx, { type: 'push_subscription.removed', userId, data });
  await appendAudit(trx, { ...by, action: 'push_subscription.removed', subjectId: userId, data: { ...data, ...(by.data ?? {}) } });
}

/** The senders this hub has (Web Push always; APNs and FCM when configured). */
export type EnabledSenders = ReadonlySet<PushKind>;

/**
 * Subscribes the device of a device app's token (the one it registered at `POST /hub/devices`):
 * a browser extension's PushSubscription, or an iOS/Android app's APNs or FCM token.
 */
export async function subscribeDevice(
  db: Knex,
  caller: { userId: string; grantRef: string | null },
  input: unknown,
  senders: EnabledSenders,
  origin: AuditOrigin = {},
): Promise<{ subscription: PublicPushSubscription; created: boolean }> {
  const parsed = parseSubscription(input, true);
  if (!senders.has(parsed.kind)) throw new AppError('invalid_input', `This hub does not push through ${parsed.kind === 'apns' ? 'APNs' : 'FCM'}: its operator has not configured it.`, { fields: { kind: 'Not configured on this hub.' } });
  const device = caller.grantRef ? await deviceQueries.byGrantRef(db, caller.userId, caller.grantRef) : undefined;
  if (!device) throw new AppError('conflict', 'Register this device first (POST /hub/devices with this token): a push subscription belongs to a device.');
  return db.transaction((trx) => save(trx, caller.userId, parsed, device.id, device.name ?? `${device.kind} · ${device.os}`, origin));
}

/** Subscribes the browser the person is using the portal in (no registered device: it is this browser). */
export async function subscribeBrowser(db: Knex, userId: string, input: unknown, origin: AuditOrigin = {}): Promise<{ subscription: PublicPushSubscription; created: boolean }> {
  const parsed = parseSubscription(input, false);
  const label = describeUserAgent(origin.userAgent).name;
  return db.transaction((trx) => save(trx, userId, parsed, null, label, origin));
}

/** Ends one of the person's subscriptions (a device app for its own device only, the portal for any). */
export async function unsubscribe(db: Knex, userId: string, id: string, options: { deviceOf?: string | null } = {}, origin: AuditOrigin = {}): Promise<void> {
  if (!z.uuid().safeParse(id).success) throw notFound('No such push subscription.');
  await db.transaction(async (trx) => {
    const row = await pushSubscriptionQueries.byId(trx, userId, id);
    if (!row || (options.deviceOf !== undefined && row.device_id !== options.deviceOf)) throw notFound('No such push subscription.');
    await pushSubscriptionQueries.delete(trx, row.id);
    await removed(trx, userId, row, 'unsubscribed', { actorId: userId, ...origin });
  });
}

/** The portal's "this browser" button turned off: by the endpoint the browser still knows. */
export async function unsubscribeBrowser(db: Knex, userId: string, endpoint: unknown, origin: AuditOrigin = {}): Promise<boolean> {
  if (typeof endpoint !== 'string' || !endpoint) throw badRequest('Give the endpoint of the subscription to end.', { endpoint: 'Required.' });
  const row = await pushSubscriptionQueries.byEndpoint(db, userId, 'webpush', endpoint);
  if (!row) return false;
  await unsubscribe(db, userId, row.id, {}, origin);
  return true;
}

/** The device app's view: its own device's subscriptions. */
export async function deviceSubscriptions(db: Knex, userId: string, grantRef: string | null): Promise<{ deviceId: string | null; subscriptions: PublicPushSubscription[] }> {
  const device = grantRef ? await deviceQueries.byGrantRef(db, userId, grantRef) : undefined;
  if (!device) return { deviceId: null, subscriptions: [] };
  return { deviceId: device.id, subscriptions: (await pushSubscriptionQueries.ofDevice(db, userId, device.id)).map(publicPushSubscription) };
}

export async function personSubscriptions(db: Knex, userId: string): Promise<PublicPushSubscription[]> {
  return (await pushSubscriptionQueries.listed(db, userId)).map(publicPushSubscription);
}

/** The per-device switch of the settings: which of the person's subscriptions get pushes. Audited, with `notification_settings.changed`. */
export async function setSubscriptionsEnabled(db: Knex, userId: string, enabledIds: readonly string[], origin: AuditOrigin = {}): Promise<void> {
  await db.transaction(async (trx) => {
    const changed = [];
    for (const row of await pushSubscriptionQueries.listed(trx, userId)) {
      const enabled = enabledIds.includes(row.id);
      if (row.enabled === enabled) continue;
      await pushSubscriptionQueries.setEnabled(trx, userId, row.id, enabled);
      changed.push({ subscription_id: row.id, label: row.label, enabled });
    }
    if (!changed.length) return;
    await appendEvent(trx, { type: 'notification_settings.changed', userId, data: { devices: changed } });
    await appendAudit(trx, { action: 'notification_settings.changed', actorId: userId, subjectId: userId, ...origin, data: { devices: changed } });
  });
}

/** Push services said the subscription is gone (404/410, or APNs/FCM: unregistered): the hub drops it, as the system. */
export async function dropExpiredSubscription(trx: Knex, row: Described, status: number | null): Promise<void> {
  await pushSubscriptionQueries.delete(trx, row.id);
  await removed(trx, row.user_id, row, 'expired', { actorId: null, data: { via: 'system', task: 'push', status } });
}
