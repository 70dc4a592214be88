import type { Views } from '../views.ts';
import type { MailMessage } from './mailer.ts';

/** The hub's mail, drawn from views/email/*.njk (text parts: the link a person must follow is the first in each). */
export interface MailTemplates {
  verifyEmail(input: { to: string; name: string; link: string; code: string; hours: number }): MailMessage;
  resetPassword(input: { to: string; name: string; link: string; minutes: number; ip: string | null }): MailMessage;
  /** "Your password was changed", "A new device signed in to your account", … */
  securityNotice(input: { to: string; name: string; subject: string; what: string; ip?: string | null; device?: string | null }): MailMessage;
  /** To the NEW address when a person asks to change their email: the link and code that prove it. */
  changeEmail(input: { to: string; name: string; link: string; code: string; minutes: number }): MailMessage;
  /** To the OLD address once the change is done: `email` is the new one. */
  emailChanged(input: { to: string; name: string; email: string; ip?: string | null; device?: string | null }): MailMessage;
}

const when = () => new Date().toISOString().replace('T', ' ').slice(0, 16) + ' UTC';

export function mailTemplates(views: Views, issuer: string): MailTemplates {
  return {
    verifyEmail: (input) => ({
      kind: 'verify-email',
      to: input.to,
      subject: `Your code is ${input.code}: confirm your email for UniQVerse`,
      text: views.render('email/verify-email.njk', { ...input, email: input.to }),
    }),
    resetPassword: (input) => ({
      kind: 'reset-password',
      to: input.to,
      subject: 'Reset your UniQVerse password',
      text: views.render('email/reset-password.njk', { ...input, email: input.to, ip: input.ip ?? 'an unknown address', when: when() }),
    }),
    securityNotice: (input) => ({
      kind: 'security-notice',
      to: input.to,
      subject: input.subject,
      text: views.render('email/security-notice.njk', { ...input, when: when(), securityUrl: `${issuer}/account/security` }),
    }),
    changeEmail: (input) => ({
      kind: 'change-email',
      to: input.to,
      subject: `Your code is ${input.code}: confirm your new email for UniQVerse`,
      text: views.render('email/change-email.njk', { ...input, email: input.to }),
    }),
    emailChanged: (input) => ({
      kind: 'email-changed',
      to: input.to,
      subject: 'Your UniQVerse email was changed',
      text: views.render('email/email-changed.njk', { ...input, when: when() }),
    }),
  };
}
