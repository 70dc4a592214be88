import test from 'ava';
import * as oidc from 'openid-client';
import { firstLink, startMailCatcher } from '../helpers/mail-catcher.ts';
import { scene, signedInTokens } from '../helpers/oidc.ts';

async function unverified(t: Parameters<typeof scene>[0]) {
  const mail = await startMailCatcher(t);
  const s = await scene(t, { hub: { env: { SMTP_URL: mail.url } } });
  await s.hub.db('users').where({ id: s.person.id }).update({ email_verified: false });
  const resend = await fetch(`${s.hub.url}/verify-email/resend`, { method: 'POST', body: new URLSearchParams({ email: s.person.email }) });
  t.is(resend.status, 200);
  const message = await mail.waitFor(s.person.email, /confirm your email/);
  return { ...s, mail, message };
}

const emailVerified = async (s: Awaited<ReturnType<typeof unverified>>) => {
  const tokens = await signedInTokens(s);
  const info = await oidc.fetchUserInfo(s.rp, tokens.access_token, tokens.claims()!.sub);
  return info.email_verified;
};

test('the first link in the verification mail confirms the address; it works once', async (t) => {
  const s = await unverified(t);
  t.false(await emailVerified(s));
  const link = firstLink(s.message.text);
  t.regex(link, /\/verify-email\?token=/);
  const page = await fetch(link);
  t.is(page.status, 200);
  t.regex(await page.text(), /Email confirmed/);
  t.true(await emailVerified(s));
  t.is((await fetch(link)).status, 400);
  t.truthy(await s.hub.db('audit_log').where({ action: 'email.verified', subject_id: s.person.id }).first());
});

test('the 6-digit code confirms the address; a wrong code does not', async (t) => {
  const s = await unverified(t);
  const code = /\b(\d{6})\b/.exec(s.message.text)![1]!;
  const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
  const post = (c: string) => fetch(`${s.hub.url}/verify-email`, { method: 'POST', body: new URLSearchParams({ email: s.person.email, code: c }) });
  const bad = await post(wrong);
  t.is(bad.status, 400);
  t.regex(await bad.text(), /not right/);
  t.false(await emailVerified(s));
  const good = await post(code);
  t.is(good.status, 200);
  t.true(await emailVerified(s));
});

test('a code dies after five wrong tries', async (t) => {
  const s = await unverified(t);
  const code = /\b(\d{6})\b/.exec(s.message.text)![1]!;
  const post = (c: string) => fetch(`${s.hub.url}/verify-email`, { method: 'POST', body: new URLSearchParams({ email: s.person.email, code: c }) });
  for (let i = 1; i <= 5; i++) t.is((await post(String((Number(code) + i) % 1_000_000).padStart(6, '0'))).status, 400);
  t.is((await post(code)).status, 400);
  t.false(await emailVerified(s));
});
