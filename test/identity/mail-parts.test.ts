import test from 'ava';
import { locales } from '../../src/platform/i18n.ts';
import { mailTemplates } from '../../src/platform/mail/messages.ts';
import { createViews } from '../../src/platform/views.ts';

const issuer = 'https://hub.example.test';
const templates = mailTemplates(createViews(), issuer);
const marked = '<img src=x onerror=alert(1)> & "Co"';

/** Every mail the hub sends, for one recipient. */
const everyMail = (recipient: { to: string; name: string; locale: string; timeZone: string }) => [
  templates.verifyEmail({ ...recipient, link: `${issuer}/verify/abc`, code: '123456', hours: 24 }),
  templates.resetPassword({ ...recipient, link: `${issuer}/reset/abc`, minutes: 30, ip: '203.0.113.9' }),
  templates.securityNotice({ ...recipient, notice: 'newSignIn', ip: '203.0.113.9', device: 'Firefox on Linux' }),
  templates.securityNotice({ ...recipient, notice: 'mfaAdded', values: { method: 'passkey', label: marked } }),
  templates.securityNotice({ ...recipient, notice: 'appPassword', values: { device: marked } }),
  templates.changeEmail({ ...recipient, link: `${issuer}/account/email/confirm?token=abc`, code: '654321', minutes: 30 }),
  templates.emailChanged({ ...recipient, email: 'new@example.test', ip: null, device: null }),
];

for (const locale of locales) {
  test(`every mail in ${locale} has a text and an HTML part that say the same, in that language, with no key names`, (t) => {
    for (const mail of everyMail({ to: 'ada@example.test', name: 'Ada', locale, timeZone: 'Asia/Kolkata' })) {
      t.truthy(mail.html, mail.kind);
      t.regex(mail.html!, new RegExp(`^<!doctype html>\\s*<html lang="${locale}">`), mail.kind);
      t.true(mail.html!.includes(`<title>${mail.subject.replace(/&/g, '&amp;')}</title>`), mail.kind);
      for (const part of [mail.text, mail.html!]) t.notRegex(part, /undefined|\bmail\.[a-z]|\[object/, `${mail.kind}: ${part.slice(0, 80)}`);
      // The link a person must follow is the same in both parts, and first in the text.
      const link = /https:\/\/\S+/.exec(mail.text)?.[0];
      if (link) t.true(mail.html!.includes(`href="${link.replace(/&/g, '&amp;')}"`), `${mail.kind}: ${link}`);
      t.true(mail.html!.includes('ada@example.test'), `${mail.kind}: the footer names the address`);
    }
  });
}

test('what a person typed (a name, a passkey label, a device name) is escaped in the HTML part and kept as typed in the text part', (t) => {
  for (const mail of everyMail({ to: 'eve@example.test', name: marked, locale: 'en', timeZone: 'UTC' })) {
    t.false(mail.html!.includes('<img'), mail.kind);
    t.true(mail.html!.includes('&lt;img src=x onerror=alert(1)&gt; &amp; &quot;Co&quot;'), mail.kind);
    t.true(mail.text.startsWith(`Hello ${marked},`), mail.kind);
  }
});
