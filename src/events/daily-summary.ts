import { createHmac, randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { appendAudit, type AuditOrigin } from '../audit/audit-log.ts';
import { appendEvent } from '../outbox/outbox.ts';
import { deriveKey } from '../platform/crypto/secret-box.ts';
import { safeEqual } from '../platform/crypto/tokens.ts';
import type { Logger } from '../platform/logger.ts';
import type { Mailer } from '../platform/mail/mailer.ts';
import type { MailTemplates } from '../platform/mail/messages.ts';
import { isLocale, isTimeZone, type Locale } from '../platform/i18n.ts';
import { dailySummaryQueries, type DailySummaryRecipient } from '../queries/daily-summaries.ts';
import { personDirectory } from '../queries/person-directory.ts';
import { minutesInZone } from '../devices/notification-settings.ts';
import { PollingLoop } from './polling-loop.ts';
import { dateIn, formatDay, todayFor } from './today.ts';

/** Signs opt-out links: HMAC(key, user id + the subscription's nonce). */
export const optOutKey = (secret: string) => deriveKey(secret, 'daily-summary-opt-out');

const sign = (key: Buffer, userId: string, nonce: string) => createHmac('sha256', key).update(`${userId}.${nonce}`).digest('base64url');

/** The token of a person's opt-out link: who, which subscription, and the signature over both. */
export const optOutToken = (key: Buffer, userId: string, nonce: string) => `${userId}.${nonce}.${sign(key, userId, nonce)}`;

export const optOutUrl = (issuer: string, token: string) => `${issuer}/daily-summary/opt-out?token=${encodeURIComponent(token)}`;

export async function dailySummaryEnabled(db: Knex, userId: string): Promise<boolean> {
  return Boolean(await dailySummaryQueries.subscriber(db, userId));
}

/** Turns the daily summary on or off (audited, `daily_summary.changed`); turning it on again makes a new opt-out link. */
export async function setDailySummary(db: Knex, userId: string, enabled: boolean, origin: AuditOrigin & { via: 'settings' | 'opt-out link' }): Promise<void> {
  await db.transaction(async (trx) => {
    const changed = enabled ? (await dailySummaryQueries.subscriber(trx, userId)) === undefined : await dailySummaryQueries.unsubscribe(trx, userId);
    if (!changed) return;
    if (enabled) await dailySummaryQueries.subscribe(trx, userId, randomBytes(16).toString('base64url'));
    await recordChange(trx, userId, enabled, origin);
  });
}

async function recordChange(trx: Knex, userId: string, enabled: boolean, origin: AuditOrigin & { via: string }) {
  const data = { enabled, via: origin.via };
  await appendEvent(trx, { type: 'daily_summary.changed', userId, data });
  await appendAudit(trx, { action: 'daily_summary.changed', actorId: userId, subjectId: userId, ip: origin.ip ?? null, userAgent: origin.userAgent ?? null, data });
}

/** Whom an opt-out token is for, when its signature holds (whether it is still in force is another question). */
export function readOptOutToken(key: Buffer, token: string): { userId: string; nonce: string } | null {
  const match = /^([0-9a-f-]{36})\.([\w-]{10,64})\.([\w-]{43})$/.exec(token);
  if (!match) return null;
  const [, userId, nonce, signature] = match;
  return safeEqual(signature!, sign(key, userId!, nonce!)) ? { userId: userId!, nonce: nonce! } : null;
}

/**
 * Follows an opt-out link (no sign-in needed): the summary stops. The link works once: a used one,
 * or one from before the person turned the summary on again, changes nothing and says so.
 */
export async function optOutByToken(db: Knex, key: Buffer, token: string, origin: AuditOrigin): Promise<'stopped' | 'invalid'> {
  const holder = readOptOutToken(key, token);
  if (!holder) return 'invalid';
  // In the person's home region (data residency).
  return personDirectory.forPerson(db, holder.userId, () => db.transaction(async (trx) => {
    if (!(await dailySummaryQueries.unsubscribe(trx, holder.userId, holder.nonce))) return 'invalid' as const;
    await recordChange(trx, holder.userId, false, { ...origin, via: 'opt-out link' });
    return 'stopped' as const;
  }));
}

export interface DailySummaryDeps {
  db: Knex;
  mailer: Mailer;
  mail: MailTemplates;
  logger: Logger;
  issuer: string;
  key: Buffer;
  /** Minutes after midnight, on the person's clock, from which their day's summary goes. */
  sendFrom: number;
}

/** People looked at in one round; a full round is followed by another at once. */
const summaryBatch = 50;

/**
 * One round: every subscriber whose local evening has come and whose day has no summary yet.
 * Each day is claimed with a row (person, day) before anything else, so of several instances one
 * sends it, and a day is never mailed twice (a crash after the claim loses that day's mail rather
 * than risking a second one). A day with nothing in it is claimed and not mailed. Returns how many
 * people it looked at.
 */
export async function sendDueSummaries(deps: DailySummaryDeps, now: Date = new Date(), batch = summaryBatch): Promise<number> {
  const zones = (await dailySummaryQueries.subscriberZones(deps.db))
    .map((stored) => {
      const zone = isTimeZone(stored) ? stored : 'UTC';
      return { zone: stored, day: dateIn(now, zone), minute: minutesInZone(now, zone) };
    })
    .filter((z) => z.minute >= deps.sendFrom);
  const due = await dailySummaryQueries.due(deps.db, zones, batch);
  for (const person of due) {
    if (!(await dailySummaryQueries.claim(deps.db, person.user_id, person.day))) continue;
    await sendOne(deps, person, now);
  }
  return due.length;
}

async function sendOne(deps: DailySummaryDeps, person: DailySummaryRecipient, now: Date): Promise<void> {
  const day = await todayFor(deps.db, { id: person.user_id, time_zone: person.time_zone, locale: person.locale }, now);
  if (day.count === 0) {
    await dailySummaryQueries.finish(deps.db, person.user_id, person.day, 'empty', 0);
    return;
  }
  const locale: Locale = isLocale(person.locale) ? person.locale : 'en';
  const link = optOutUrl(deps.issuer, optOutToken(deps.key, person.user_id, person.nonce));
  const message = deps.mail.dailySummary({ to: person.email, name: person.name, locale: person.locale, timeZone: person.time_zone, day, dayLabel: formatDay(day.date, locale), optOutUrl: link });
  try {
    await deps.mailer.send(message);
    await dailySummaryQueries.finish(deps.db, person.user_id, person.day, 'sent', day.count);
  } catch (error) {
    deps.logger.warn({ err: error, kind: 'daily-summary' }, 'a daily summary could not be sent; that day is not tried again');
    await dailySummaryQueries.finish(deps.db, person.user_id, person.day, 'failed', day.count);
  }
}

/** Looks for due summaries every `pollMs` on every instance (the claim keeps each day to one mail). */
export function dailySummarySender(deps: DailySummaryDeps & { pollMs: number }): PollingLoop {
  return new PollingLoop({
    round: async () => (await sendDueSummaries(deps)) === summaryBatch,
    pollMs: deps.pollMs,
    logger: deps.logger,
    failure: 'daily summaries failed',
  });
}
