import test from 'ava';
import { generate } from 'otplib';
import * as oidc from 'openid-client';
import { createAppPassword } from '../../src/identity/app-passwords.ts';
import { generateRecoveryCodes } from '../../src/identity/recovery-codes.ts';
import { confirmTotpEnrolment, startTotpEnrolment } from '../../src/identity/totp.ts';
import { firstLink, startMailCatcher } from '../helpers/mail-catcher.ts';
import { authorize, scene } from '../helpers/oidc.ts';
import { UserAgent, signInThroughPages } from '../helpers/user-agent.ts';
import { callbackUrl } from '../helpers/fixtures.ts';

const newPassword = 'a brand new long passphrase';

async function requestReset(hubUrl: string, email: string) {
  const response = await fetch(`${hubUrl}/reset`, { method: 'POST', body: new URLSearchParams({ email }), redirect: 'manual' });
  return { status: response.status, html: await response.text() };
}

const post = (url: string, form: Record<string, string>) =>
  fetch(url, { method: 'POST', body: new URLSearchParams(form), redirect: 'manual' }).then(async (r) => ({ status: r.status, html: await r.text() }));

test('a reset link sets a new password once, ends every session and refresh token, revokes app passwords', async (t) => {
  const mail = await startMailCatcher(t);
  const s = await scene(t, { hub: { env: { SMTP_URL: mail.url } } });
  const { hub, person } = s;
  // Signed in elsewhere, with a refresh token and an app password.
  const elsewhere = await authorize(s);
  const tokens = await oidc.authorizationCodeGrant(s.rp, elsewhere.callback, { pkceCodeVerifier: elsewhere.verifier, expectedState: elsewhere.state });
  t.truthy(tokens.refresh_token);
  await createAppPassword(hub.db, hub.secrets.credentials, person.id, { deviceName: 'Phone', deviceType: 'phone', service: 'all' });

  // The answer is the same for an unknown address.
  const unknown = await requestReset(hub.url, 'nobody@example.test');
  const known = await requestReset(hub.url, person.email.toUpperCase());
  t.is(known.status, 200);
  t.is(unknown.status, 200);
  t.is(unknown.html.replace(/nobody@example\.test/g, ''), known.html.replace(person.email.toUpperCase(), ''));

  const message = await mail.waitFor(person.email, /Reset your/);
  const link = firstLink(message.text);
  t.regex(link, new RegExp(`^${hub.url}/reset/[\\w-]{40,}$`));
  const form = await fetch(link);
  t.is(form.status, 200);
  t.regex(await form.text(), /New password/);
  // Only a hash of the token is stored.
  const stored = await hub.db('email_tokens').where({ user_id: person.id, purpose: 'reset_password' }).first();
  t.false(link.includes(stored.token_hash));

  const common = await post(link, { password: 'password1' });
  t.is(common.status, 400);
  t.regex(common.html, /too common/);

  const done = await post(link, { password: newPassword });
  t.is(done.status, 200, done.html.slice(0, 500));
  t.regex(done.html, /Password changed/);

  // Single use.
  const again = await post(link, { password: 'yet another long passphrase' });
  t.is(again.status, 400);
  t.regex(again.html, /expired or was already used/);
  t.is((await fetch(link)).status, 400);

  // Everything the other browser held is gone.
  const refresh = await t.throwsAsync(oidc.refreshTokenGrant(s.rp, tokens.refresh_token!));
  t.is((refresh as oidc.ResponseBodyError).error, 'invalid_grant');
  t.is(await hub.db('oidc_models').where({ account_id: person.id }).first(), undefined);
  const { response } = await elsewhere.agent.follow(oidc.buildAuthorizationUrl(s.rp, { redirect_uri: callbackUrl, scope: 'openid', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' }).href, hub.url);
  t.regex(await response.text(), /\/interaction\/[\w-]+\/login/, 'the old session must sign in again');
  const appPasswords = await hub.db('app_passwords').where({ user_id: person.id });
  t.true(appPasswords.every((row) => row.revoked_at !== null));

  // The old password no longer works; the new one does.
  await t.throwsAsync(authorize(s));
  await t.notThrowsAsync(authorize({ ...s, person: { ...person, password: newPassword } }));
  await mail.waitFor(person.email, /password was changed/);
  const audit = await hub.db('audit_log').where({ action: 'password.reset', subject_id: person.id }).first();
  t.truthy(audit);
});

test('an expired reset link is refused', async (t) => {
  const mail = await startMailCatcher(t);
  const s = await scene(t, { hub: { env: { SMTP_URL: mail.url } } });
  const { hub, person } = s;
  await requestReset(hub.url, person.email);
  const link = firstLink((await mail.waitFor(person.email, /Reset your/)).text);
  await hub.db('email_tokens').where({ user_id: person.id, purpose: 'reset_password' }).update({ expires_at: new Date(Date.now() - 1000) });
  const page = await fetch(link);
  t.is(page.status, 400);
  t.regex(await page.text(), /expired or was already used/);
  const posted = await post(link, { password: newPassword });
  t.is(posted.status, 400);
  // The password is unchanged.
  await t.notThrowsAsync(authorize(s));
});

test('a reset never skips the second factor', async (t) => {
  const mail = await startMailCatcher(t);
  const s = await scene(t, { hub: { env: { SMTP_URL: mail.url } } });
  const { hub, person } = s;
  const enrolment = await startTotpEnrolment(hub.db, hub.secrets.totp, { id: person.id, email: person.email });
  await confirmTotpEnrolment(hub.db, hub.secrets.totp, person.id, await generate({ secret: enrolment.secret }));

  await requestReset(hub.url, person.email);
  const link = firstLink((await mail.waitFor(person.email, /Reset your/)).text);
  const done = await fetch(link, { method: 'POST', body: new URLSearchParams({ password: newPassword }), redirect: 'manual' });
  t.is(done.status, 200);
  t.deepEqual(done.headers.getSetCookie().filter((c) => /session/i.test(c)), [], 'a reset signs no one in');

  // Signing in with the new password stops at the second factor.
  const agent = new UserAgent();
  const url = oidc.buildAuthorizationUrl(s.rp, { redirect_uri: callbackUrl, scope: 'openid', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' });
  const error = await t.throwsAsync(signInThroughPages(agent, hub.url, url.href, person.email, newPassword));
  t.regex(error!.message, /second-factor|Code/);
});

test('a reset of an account whose address was never confirmed confirms it and removes every factor set up without it', async (t) => {
  const mail = await startMailCatcher(t);
  const s = await scene(t, { hub: { env: { SMTP_URL: mail.url } } });
  const { hub, person } = s;
  // Factors set up on an account from before factors needed a confirmed address: enrolled while
  // confirmed, then the address is marked unconfirmed, as such an account's row is.
  const enrolment = await startTotpEnrolment(hub.db, hub.secrets.totp, { id: person.id, email: person.email });
  await confirmTotpEnrolment(hub.db, hub.secrets.totp, person.id, await generate({ secret: enrolment.secret }));
  await generateRecoveryCodes(hub.db, hub.secrets.credentials, person.id);
  await hub.db('users').where({ id: person.id }).update({ email_verified: false });

  await requestReset(hub.url, person.email);
  const link = firstLink((await mail.waitFor(person.email, /Reset your/)).text);
  t.is((await post(link, { password: newPassword })).status, 200);

  t.true((await hub.db('users').where({ id: person.id }).first()).email_verified, 'the reset link proved the mailbox');
  t.is(await hub.db('totp_factors').where({ user_id: person.id }).first(), undefined);
  t.is(await hub.db('recovery_codes').where({ user_id: person.id }).first(), undefined);
  const entry = await hub.db('audit_log').where({ action: 'password.reset', subject_id: person.id }).first();
  t.like(entry.data, { email_verified: true, factors_removed: { passkeys: 0, totp: 1, recovery_codes: 10 } });
  t.deepEqual(
    (await hub.db('outbox').where({ type: 'mfa.removed', user_id: person.id }).select('data')).map((r: { data: { method: string } }) => r.data.method).sort(),
    ['recovery_codes', 'totp'],
  );

  // The owner now signs in with the new password alone: no second factor is left to ask for.
  const agent = new UserAgent();
  const url = oidc.buildAuthorizationUrl(s.rp, { redirect_uri: callbackUrl, scope: 'openid', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' });
  await signInThroughPages(agent, hub.url, url.href, person.email, newPassword);
});
