import type { Views } from '../views.ts';
import type { MailMessage } from './mailer.ts';
import { defaultLocale, formatClock, formatDateTime, isLocale, isTimeZone, t, tHtml, type Locale, type MessageValues } from '../i18n.ts';

/** Whom a mail is for: in their saved language and time zone (English and UTC until they choose). */
interface Recipient {
  to: string;
  name: string;
  locale?: string | null;
  timeZone?: string | null;
}

/** A security notice by its catalogue key (mail.notice.<notice>.subject / .what) and the values its words take. */
export type SecurityNotice = { notice: string; values?: MessageValues };

/**
 * The hub's mail, each with a text part (views/email/<kind>.njk: the link a person must follow is
 * the first in it) and an HTML part (views/email/<kind>.html.njk, its words escaped by `th`).
 */
export interface MailTemplates {
  verifyEmail(input: Recipient & { link: string; code: string; hours: number }): MailMessage;
  resetPassword(input: Recipient & { link: string; minutes: number; ip: string | null }): MailMessage;
  /** "Your password was changed", "A new device signed in to your account", … */
  securityNotice(input: Recipient & SecurityNotice & { ip?: string | null; device?: string | null }): MailMessage;
  /** To the NEW address when a person asks to change their email: the link and code that prove it. */
  changeEmail(input: Recipient & { link: string; code: string; minutes: number }): MailMessage;
  /** To the OLD address once the change is done: `email` is the new one. */
  emailChanged(input: Recipient & { email: string; ip?: string | null; device?: string | null }): MailMessage;
  /** The day across the services, with a one-click opt-out (List-Unsubscribe, RFC 8058). */
  dailySummary(input: Recipient & { day: SummaryDay; dayLabel: string; optOutUrl: string }): MailMessage;
}

/** A day as the daily summary tells it (src/events/today.ts makes it). */
export interface SummaryDay {
  count: number;
  services: Array<{ service: { name: string } | null; count: number; notable: Array<{ at: Date; message: { key: string; values: MessageValues } }> }>;
}

const languageOf = (input: Recipient): Locale => (isLocale(input.locale) ? input.locale : defaultLocale);
const zoneOf = (input: Recipient) => (isTimeZone(input.timeZone) ? input.timeZone : 'UTC');

export function mailTemplates(views: Views, issuer: string): MailTemplates {
  /** One mail: its subject, and both parts drawn from the same words in the recipient's language and zone. */
  const compose = (kind: string, input: Recipient, subject: string, data: Record<string, unknown>): MailMessage => {
    const locale = languageOf(input);
    const timeZone = zoneOf(input);
    const context = { ...data, to: input.to, subject, issuer, name: input.name, locale, timeZone, when: formatDateTime(new Date(), locale, timeZone) };
    return { kind, to: input.to, subject, text: views.render(`email/${kind}.njk`, context), html: views.render(`email/${kind}.html.njk`, context) };
  };
  return {
    verifyEmail: (input) => compose('verify-email', input, t(languageOf(input), 'mail.verify.subject', { code: input.code }), { ...input, email: input.to }),
    resetPassword: (input) =>
      compose('reset-password', input, t(languageOf(input), 'mail.reset.subject'), { ...input, email: input.to, ip: input.ip ?? t(languageOf(input), 'mail.unknownAddress') }),
    securityNotice: (input) =>
      compose('security-notice', input, t(languageOf(input), `mail.notice.${input.notice}.subject`, input.values), {
        ...input,
        what: t(languageOf(input), `mail.notice.${input.notice}.what`, input.values),
        whatHtml: tHtml(languageOf(input), `mail.notice.${input.notice}.what`, input.values),
        securityUrl: `${issuer}/account/security`,
      }),
    changeEmail: (input) => compose('change-email', input, t(languageOf(input), 'mail.changeEmail.subject', { code: input.code }), { ...input, email: input.to }),
    emailChanged: (input) => compose('email-changed', input, t(languageOf(input), 'mail.emailChanged.subject'), { ...input }),
    dailySummary: (input) => {
      const locale = languageOf(input);
      const groups = input.day.services.map((group) => ({
        name: group.service?.name ?? t(locale, 'today.account'),
        count: group.count,
        notable: group.notable.map((item) => ({ clock: formatClock(item.at, locale, zoneOf(input)), text: t(locale, item.message.key, item.message.values), html: tHtml(locale, item.message.key, item.message.values) })),
      }));
      const message = compose('daily-summary', input, t(locale, 'mail.daily.subject', { count: input.day.count, date: input.dayLabel }), { ...input, groups, accountUrl: `${issuer}/account#today` });
      // RFC 8058: a mail client may offer "unsubscribe" and POST to the link itself, with no page in between.
      return { ...message, headers: { 'List-Unsubscribe': `<${input.optOutUrl}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' } };
    },
  };
}
