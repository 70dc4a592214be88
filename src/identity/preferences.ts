import type { Knex } from 'knex';
import { z } from 'zod';
import { appendAudit, type AuditOrigin } from '../audit/audit-log.ts';
import { appendEvent } from '../outbox/outbox.ts';
import { isLocale, isTimeZone } from '../platform/i18n.ts';
import { parseInput } from '../platform/validation.ts';
import { userQueries } from '../queries/users.ts';

export const preferencesSchema = z.object({
  locale: z.string().refine(isLocale, 'Choose a language from the list.').optional(),
  timeZone: z.string().trim().refine(isTimeZone, 'Choose a time zone from the list, such as Asia/Kolkata.').optional(),
});

/**
 * A person's language and time zone, kept on their account: pages, mails and the `locale` claim
 * follow the language; every time they are shown follows the zone. Audited; the language is part
 * of the profile services receive, so a change of it is a user.updated event.
 */
export async function setPreferences(db: Knex, userId: string, input: unknown, origin: AuditOrigin): Promise<{ locale?: string; timeZone?: string }> {
  const data = parseInput(preferencesSchema, input);
  await db.transaction(async (trx) => {
    const user = await userQueries.lock(trx, userId);
    if (!user) return;
    const changes: { locale?: string; time_zone?: string } = {};
    if (data.locale !== undefined && data.locale !== user.locale) changes.locale = data.locale;
    if (data.timeZone !== undefined && data.timeZone !== user.time_zone) changes.time_zone = data.timeZone;
    if (!Object.keys(changes).length) return;
    await userQueries.setPreferences(trx, userId, changes);
    await appendAudit(trx, {
      action: 'preferences.changed',
      actorId: userId,
      subjectId: userId,
      ...origin,
      data: { ...(changes.locale ? { locale: changes.locale, previous_locale: user.locale } : {}), ...(changes.time_zone ? { time_zone: changes.time_zone, previous_time_zone: user.time_zone } : {}) },
    });
    if (changes.locale) await appendEvent(trx, { type: 'user.updated', userId, data: { changed: ['locale'], locale: changes.locale } });
  });
  return data;
}
