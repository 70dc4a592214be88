import type { Knex } from 'knex';
import { z } from 'zod';
import { appendAudit, type AuditOrigin } from '../audit/audit-log.ts';
import { appendEvent } from '../outbox/outbox.ts';
import { parseInput } from '../platform/validation.ts';
import { notificationSettingsQueries } from '../queries/notification-settings.ts';

/** What a person can have pushed: new sign-ins, their tiers at services changing, and the services' own notices to them. */
export const notificationKinds = ['sign_in', 'entitlements', 'service_notices'] as const;
export type NotificationKind = (typeof notificationKinds)[number];

export interface NotificationSettings {
  kinds: NotificationKind[];
  /** Minutes after midnight in the person's time zone; both null: no quiet hours. */
  quietStart: number | null;
  quietEnd: number | null;
}

/** Until a person chooses, everything is pushed, at any hour. */
export const defaultNotificationSettings: NotificationSettings = { kinds: [...notificationKinds], quietStart: null, quietEnd: null };

const clock = z
  .string({ message: 'Give a time as HH:MM, such as 22:00.' })
  .trim()
  .regex(/^([01]?\d|2[0-3]):[0-5]\d$/, 'Give a time as HH:MM, such as 22:00.')
  .transform((v) => {
    const [h, m] = v.split(':').map(Number);
    return h! * 60 + m!;
  });

/** An empty field (or none) is no time at all. */
const optionalClock = z.preprocess((v) => (v === '' || v === undefined ? null : v), clock.nullable());

const settingsSchema = z
  .object({
    kinds: z.array(z.enum(notificationKinds, { message: `Each kind is one of ${notificationKinds.join(', ')}.` })).max(notificationKinds.length),
    quiet_start: optionalClock,
    quiet_end: optionalClock,
  })
  .superRefine((v, ctx) => {
    if ((v.quiet_start === null) !== (v.quiet_end === null)) ctx.addIssue({ code: 'custom', path: [v.quiet_start === null ? 'quiet_start' : 'quiet_end'], message: 'Give both the start and the end of the quiet hours, or neither.' });
    else if (v.quiet_start !== null && v.quiet_start === v.quiet_end) ctx.addIssue({ code: 'custom', path: ['quiet_end'], message: 'The quiet hours end when they start: give a different end.' });
  });

export async function notificationSettingsOf(db: Knex, userId: string): Promise<NotificationSettings> {
  const row = await notificationSettingsQueries.of(db, userId);
  if (!row) return { ...defaultNotificationSettings, kinds: [...defaultNotificationSettings.kinds] };
  return { kinds: notificationKinds.filter((k) => row.kinds.includes(k)), quietStart: row.quiet_start, quietEnd: row.quiet_end };
}

/** Saves what the person wants pushed and when not; audited, with `notification_settings.changed`. */
export async function saveNotificationSettings(db: Knex, userId: string, input: unknown, origin: AuditOrigin = {}): Promise<NotificationSettings> {
  const data = parseInput(settingsSchema, input);
  const kinds = notificationKinds.filter((k) => data.kinds.includes(k));
  return db.transaction(async (trx) => {
    await notificationSettingsQueries.save(trx, { user_id: userId, kinds, quiet_start: data.quiet_start, quiet_end: data.quiet_end });
    const eventData = { kinds, quiet_start: data.quiet_start, quiet_end: data.quiet_end };
    await appendEvent(trx, { type: 'notification_settings.changed', userId, data: eventData });
    await appendAudit(trx, { action: 'notification_settings.changed', actorId: userId, subjectId: userId, ...origin, data: eventData });
    return { kinds, quietStart: data.quiet_start, quietEnd: data.quiet_end };
  });
}

/** Minutes after midnight at `now` in `timeZone`. */
export function minutesInZone(now: Date, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(now);
  const part = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return part('hour') * 60 + part('minute');
}

/**
 * When a push may go: now, or, inside the person's quiet hours (which may span midnight), the
 * minute they end on the person's clock.
 */
export function notBefore(settings: Pick<NotificationSettings, 'quietStart' | 'quietEnd'>, timeZone: string, now: Date = new Date()): Date {
  const { quietStart: start, quietEnd: end } = settings;
  if (start === null || end === null) return now;
  const minute = minutesInZone(now, timeZone);
  const inside = start < end ? minute >= start && minute < end : minute >= start || minute < end;
  if (!inside) return now;
  const wait = (end - minute + 1440) % 1440;
  let at = new Date(now.getTime() + wait * 60_000);
  // A clock change inside the quiet hours (daylight saving) moves their end on the person's clock by its size: found in one step.
  const off = ((end - minutesInZone(at, timeZone) + 720 + 1440) % 1440) - 720;
  if (off) at = new Date(at.getTime() + off * 60_000);
  at.setUTCSeconds(0, 0);
  return at;
}
