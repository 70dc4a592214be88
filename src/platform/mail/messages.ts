import type { Views } from '../views.ts';
import type { MailMessage } from './mailer.ts';
import { defaultLocale, formatDateTime, isLocale, isTimeZone, t, type Locale, type MessageValues } from '../i18n.ts';

/** Whom a mail is for: in their saved language and time zone (English and UTC until they choose). */
interface Recipient {
  to: string;
  name: string;
  locale?: string | null;
  timeZone?: string | null;
}

/** A security notice by its catalogue key (mail.notice.<notice>.subject / .what) and the values its words take. */
export type SecurityNotice = { notice: string; values?: MessageValues };

/** The hub's mail, drawn from views/email/*.njk (text parts: the link a person must follow is the first in each). */
export interface MailTemplates {
  verifyEmail(input: Recipient & { link: string; code: string; hours: number }): MailMessage;
  resetPassword(input: Recipient & { link: string; minutes: number; ip: string | null }): MailMessage;
  /** "Your password was changed", "A new device signed in to your account", … */
  securityNotice(input: Recipient & SecurityNotice & { ip?: string | null; device?: string | null }): MailMessage;
  /** To the NEW address when a person asks to change their email: the link and code that prove it. */
  changeEmail(input: Recipient & { link: string; code: string; minutes: number }): MailMessage;
  /** To the OLD address once the change is done: `email` is the new one. */
  emailChanged(input: Recipient & { email: string; ip?: string | null; device?: string | null }): MailMessage;
}

const languageOf = (input: Recipient): Locale => (isLocale(input.locale) ? input.locale : defaultLocale);
const zoneOf = (input: Recipient) => (isTimeZone(input.timeZone) ? input.timeZone : 'UTC');

export function mailTemplates(views: Views, issuer: string): MailTemplates {
  const draw = (template: string, input: Recipient, data: Record<string, unknown>) =>
    views.render(template, { ...data, name: input.name, locale: languageOf(input), timeZone: zoneOf(input), when: formatDateTime(new Date(), languageOf(input), zoneOf(input)) });
  return {
    verifyEmail: (input) => ({
      kind: 'verify-email',
      to: input.to,
      subject: t(languageOf(input), 'mail.verify.subject', { code: input.code }),
      text: draw('email/verify-email.njk', input, { ...input, email: input.to }),
    }),
    resetPassword: (input) => ({
      kind: 'reset-password',
      to: input.to,
      subject: t(languageOf(input), 'mail.reset.subject'),
      text: draw('email/reset-password.njk', input, { ...input, email: input.to, ip: input.ip ?? t(languageOf(input), 'mail.unknownAddress') }),
    }),
    securityNotice: (input) => ({
      kind: 'security-notice',
      to: input.to,
      subject: t(languageOf(input), `mail.notice.${input.notice}.subject`, input.values),
      text: draw('email/security-notice.njk', input, { ...input, what: t(languageOf(input), `mail.notice.${input.notice}.what`, input.values), securityUrl: `${issuer}/account/security` }),
    }),
    changeEmail: (input) => ({
      kind: 'change-email',
      to: input.to,
      subject: t(languageOf(input), 'mail.changeEmail.subject', { code: input.code }),
      text: draw('email/change-email.njk', input, { ...input, email: input.to }),
    }),
    emailChanged: (input) => ({
      kind: 'email-changed',
      to: input.to,
      subject: t(languageOf(input), 'mail.emailChanged.subject'),
      text: draw('email/email-changed.njk', input, { ...input }),
    }),
  };
}
