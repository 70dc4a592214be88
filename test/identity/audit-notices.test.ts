import test from 'ava';
import { generate } from 'otplib';
import { sendCredentialNotices } from '../../src/identity/credential-notices.ts';
import { confirmTotpEnrolment, startTotpEnrolment } from '../../src/identity/totp.ts';
import { startMailCatcher } from '../helpers/mail-catcher.ts';
import { scene } from '../helpers/oidc.ts';

test('a credential change anywhere (here: an authenticator app added) mails the person a notice, once', async (t) => {
  const mail = await startMailCatcher(t);
  const { hub, person } = await scene(t, { hub: { env: { SMTP_URL: mail.url } } });
  const enrolment = await startTotpEnrolment(hub.db, hub.secrets.totp, { id: person.id, email: person.email });
  await confirmTotpEnrolment(hub.db, hub.secrets.totp, person.id, await generate({ secret: enrolment.secret }), { ip: '192.0.2.5', userAgent: 'Test Browser' });
  // Two instances reading at once: the cursor row lock lets only one of them mail.
  const sent = await Promise.all([sendCredentialNotices(hub), sendCredentialNotices(hub)]);
  const notice = await mail.waitFor(person.email, /sign-in method was added/);
  t.regex(notice.text, /An authenticator app was added/);
  t.regex(notice.text, /192\.0\.2\.5/);
  t.regex(notice.text, /\/account\/security/);
  await hub.mailer.drain();
  t.is(mail.messages.filter((m) => /sign-in method was added/.test(m.subject)).length, 1);
  t.true(sent.reduce((a, b) => a + b, 0) <= 1);
});
