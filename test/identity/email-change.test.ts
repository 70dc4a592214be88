import test, { type ExecutionContext } from 'ava';
import * as oidc from 'openid-client';
import type { Page } from 'playwright-core';
import { newPage, signInInBrowser } from '../helpers/browser.ts';
import { makePerson } from '../helpers/fixtures.ts';
import { firstLink, startMailCatcher, type CaughtMail, type MailCatcher } from '../helpers/mail-catcher.ts';
import { scene, signedInTokens, type Scene } from '../helpers/oidc.ts';
import { ageSignIn } from './strong-sign-in-helpers.ts';
import { auditEntriesOf } from '../helpers/audit.ts';

const newAddress = (s: Scene) => s.person.email.replace('@', '+new@');

async function setUp(t: ExecutionContext) {
  const mail = await startMailCatcher(t);
  const s = await scene(t, { hub: { env: { SMTP_URL: mail.url } } });
  const { page } = await newPage(t);
  await signInInBrowser(page, s.hub.url, s.person.email, s.person.password);
  return { ...s, mail, page };
}

type Marked = { beforeSubmit?: boolean };

/** Presses a submit button and waits for the next document (a page of its own, whatever its status); returns the POST's status. */
async function submit(page: Page, button: ReturnType<Page['getByRole']>): Promise<number> {
  await page.evaluate(() => ((window as Marked).beforeSubmit = true));
  const answer = page.waitForResponse((r) => r.request().method() === 'POST' && !r.url().endsWith('/account/time-zone'));
  await button.click();
  const status = (await answer).status();
  await page.waitForFunction(() => !(window as Marked).beforeSubmit && document.readyState !== 'loading');
  return status;
}

/** Fills the Email section of /account/security and presses "Change email"; returns the answer's status. */
async function askForChange(page: Page, hubUrl: string, email: string, password: string): Promise<number> {
  await page.goto(`${hubUrl}/account/security`);
  const section = page.locator('#email');
  await section.getByLabel('New email').fill(email);
  await section.getByLabel('Password', { exact: true }).fill(password);
  return submit(page, section.getByRole('button', { name: 'Change email' }));
}

const codeIn = (message: CaughtMail) => /\b(\d{6})\b/.exec(message.text)![1]!;

async function changeMail(mail: MailCatcher, to: string) {
  const message = await mail.waitFor(to, /confirm your new email/);
  return { message, code: codeIn(message), link: firstLink(message.text) };
}

async function typeCode(page: Page, hubUrl: string, code: string): Promise<number> {
  if (!page.url().startsWith(`${hubUrl}/account/security/email/verify`)) await page.goto(`${hubUrl}/account/security/email/verify`);
  await page.getByLabel('Code').fill(code);
  return submit(page, page.getByRole('button', { name: 'Verify' }));
}

/** Signs in through a service (a client of its own) and asks userinfo for the email. */
async function userinfoEmail(s: Scene): Promise<unknown> {
  const tokens = await signedInTokens(s);
  const info = await oidc.fetchUserInfo(s.rp, tokens.access_token, tokens.claims()!.sub);
  return info.email_verified ? info.email : undefined;
}

const emailOf = async (s: Scene, id = s.person.id) => (await s.hub.db('users').where({ id }).first('email', 'email_verified')) as { email: string; email_verified: boolean };

test.serial('the code from the mail to the new address changes the email; the old address is told; tokens, events and sign-in follow', async (t) => {
  const s = await setUp(t);
  const { hub, person, page } = s;
  const oldEmail = person.email;
  const email = newAddress(s);

  await page.goto(`${hub.url}/account/security`);
  const section = page.locator('#email');
  t.is(await section.locator('#current-email').textContent(), oldEmail);
  t.truthy(await section.getByText('Verified', { exact: true }).count());

  t.is(await askForChange(page, hub.url, email, person.password), 303);
  t.is(page.url(), `${hub.url}/account/security/email/verify`);
  t.is(await page.locator('#pending-email').textContent(), email);
  const { message, code, link } = await changeMail(s.mail, email);
  t.deepEqual(message.to, [email]);
  t.regex(link, new RegExp(`^${hub.url}/account/security/email/confirm\\?token=[\\w-]{40,}$`), 'the link comes first in the text');
  t.is((await hub.db('email_tokens').where({ user_id: person.id, purpose: 'change_email' }).first()).email, email);
  t.false(link.includes((await hub.db('email_tokens').where({ user_id: person.id, purpose: 'change_email' }).first()).token_hash));

  // Until the code comes back the old address is the sign-in email, and the Security page says a change waits.
  t.is((await emailOf(s)).email, oldEmail);
  await page.goto(`${hub.url}/account/security`);
  await page.locator('#email-change-pending').waitFor();
  t.regex((await page.locator('#email-change-pending').textContent())!, new RegExp(email.replace(/[.+]/g, '\\$&')));
  t.is(await userinfoEmail(s), oldEmail);

  t.is(await typeCode(page, hub.url, code), 303);
  t.regex(page.url(), /\/account\/security\/email\?notice=email-changed$/);
  t.is(await page.locator('#current-email').textContent(), email);
  t.truthy(await page.locator('#email').getByText('Verified', { exact: true }).count());
  t.deepEqual(await emailOf(s), { email, email_verified: true });

  // The same code again: used up.
  t.is(await typeCode(page, hub.url, code), 400);
  t.is(await page.locator('#email-change-code-error').count(), 1);
  t.is((await emailOf(s)).email, email);

  const [audit] = await auditEntriesOf(hub.db, person.id, 'email.changed');
  t.like(audit!.data, { old_email: oldEmail, new_email: email, method: 'code' });
  const stored = await hub.db('audit_log').where({ action: 'email.changed', subject_id: person.id }).first('data');
  t.false(JSON.stringify(stored.data).includes(oldEmail), 'stored sealed: the addresses are not in the row as written');
  const event = await hub.db('outbox').where({ type: 'user.updated', user_id: person.id }).whereRaw("data->'changed' @> '[\"email\"]'::jsonb").first();
  t.like(event.data, { changed: ['email'], email, name: person.name, email_verified: true });

  const notice = await s.mail.waitFor(oldEmail, /email was changed/);
  t.true(notice.text.includes(`Your UniQVerse email was changed to ${email}`));

  // The new address signs in; the old one no longer does. Userinfo carries the new address
  // (ID tokens carry claims only for response_type=id_token, conformIdTokenClaims; both read users).
  t.is(await userinfoEmail({ ...s, person: { ...person, email } }), email);
  await t.throwsAsync(signedInTokens(s));
  const other = await newPage(t);
  await signInInBrowser(other.page, hub.url, email, person.password);
  t.is(other.page.url(), `${hub.url}/account`);
});

test.serial('the link works after signing in when opened signed out, once, and only for the account that asked', async (t) => {
  const s = await setUp(t);
  const { hub, person, page } = s;
  const email = newAddress(s);
  t.is(await askForChange(page, hub.url, email, person.password), 303);
  const { link } = await changeMail(s.mail, email);

  // Someone else's signed-in browser: refused, and the link still works for its owner.
  const stranger = await makePerson(hub);
  const strangerPage = (await newPage(t)).page;
  await signInInBrowser(strangerPage, hub.url, stranger.email, stranger.password);
  const refused = await strangerPage.goto(link);
  t.is(refused!.status(), 403);
  t.is((await emailOf(s, stranger.id)).email, stranger.email);

  // Signed out (another browser): the link asks to sign in, with the old address, then confirms.
  const fresh = (await newPage(t)).page;
  await fresh.goto(link);
  t.regex(fresh.url(), /\/interaction\//);
  await fresh.getByLabel('Email').fill(person.email);
  await fresh.getByLabel('Password', { exact: true }).fill(person.password);
  await fresh.getByRole('button', { name: 'Sign in', exact: true }).click();
  await fresh.waitForURL(/\/account\/security\/email\?notice=email-changed$/);
  t.is(await fresh.locator('#current-email').textContent(), email);
  t.deepEqual(await emailOf(s), { email, email_verified: true });
  t.like((await hub.db('audit_log').where({ action: 'email.changed', subject_id: person.id }).first()).data, { method: 'link' });

  // Used once.
  const again = await fresh.goto(link);
  t.is(again!.status(), 400);
  t.regex(await fresh.content(), /expired or was already used/);
});

test.serial('a wrong password, a malformed address and the current address are refused next to their field; wrong passwords count towards the lock', async (t) => {
  const s = await setUp(t);
  const { hub, person, page } = s;
  const email = newAddress(s);

  t.is(await askForChange(page, hub.url, email, 'not my password'), 400);
  t.is(await page.locator('#email-change-password-error').textContent(), 'This is not your password.');
  t.is(await page.getByLabel('New email').inputValue(), email, 'what was typed stays');
  t.truthy(await hub.db('audit_log').where({ action: 'email.change_failed', subject_id: person.id }).first());

  t.is(await askForChange(page, hub.url, 'not an address', person.password), 400);
  t.regex((await page.locator('#new-email-error').textContent())!, /valid email address/);
  t.is(await askForChange(page, hub.url, person.email.toUpperCase(), person.password), 400);
  t.is(await page.locator('#new-email-error').textContent(), 'This is already your email.');
  t.is(await hub.db('email_tokens').where({ user_id: person.id, purpose: 'change_email' }).first(), undefined);

  // The password goes through the account's brute-force limit: after 10 failures even the right one is refused.
  const csrf = (await page.locator('meta[name="csrf-token"]').getAttribute('content'))!;
  const post = (password: string) => page.request.post(`${hub.url}/account/security/email`, { form: { _csrf: csrf, newEmail: email, password }, maxRedirects: 0 });
  for (let i = 0; i < 9; i++) t.is((await post('still not my password')).status(), 400);
  const locked = await post(person.password);
  t.is(locked.status(), 400);
  t.regex(await locked.text(), /This is not your password/);
  t.like((await hub.db('audit_log').where({ action: 'email.change_failed', subject_id: person.id }).orderBy('seq', 'desc').first()).data, { locked: true });
  // Missing fields and a junk link are 4xx, never a 500.
  t.is((await page.request.post(`${hub.url}/account/security/email`, { form: { _csrf: csrf }, maxRedirects: 0 })).status(), 400);
  t.is((await page.request.post(`${hub.url}/account/security/email/verify`, { form: { _csrf: csrf, code: 'abc' }, maxRedirects: 0 })).status(), 400);
  t.is((await page.request.get(`${hub.url}/account/security/email/confirm?token=${'x'.repeat(500)}`, { maxRedirects: 0 })).status(), 400);
  t.is((await page.request.get(`${hub.url}/account/security/email/confirm?token[]=1`, { maxRedirects: 0 })).status(), 400);
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.is(s.mail.messages.length, 0, 'no mail went anywhere');
});

test.serial('a stale sign-in is asked to sign in again before the change is asked for', async (t) => {
  const s = await setUp(t);
  const { hub, person, page } = s;
  const email = newAddress(s);
  await ageSignIn(hub, person.id, 3600);
  await askForChange(page, hub.url, email, person.password);
  await page.waitForURL(/\/interaction\//);
  t.is(await hub.db('email_tokens').where({ user_id: person.id, purpose: 'change_email' }).first(), undefined, 'nothing asked yet');
  t.is(await page.getByLabel('Email').inputValue(), person.email);
  await page.getByLabel('Password', { exact: true }).fill(person.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL(`${hub.url}/account/security`);

  t.is(await askForChange(page, hub.url, email, person.password), 303);
  await changeMail(s.mail, email);
});

test.serial('an expired code and link are refused, a code dies after five misses, and cancelling stops them', async (t) => {
  const s = await setUp(t);
  const { hub, person, page } = s;
  const email = newAddress(s);

  t.is(await askForChange(page, hub.url, email, person.password), 303);
  let mail = await changeMail(s.mail, email);
  await hub.db('email_tokens').where({ user_id: person.id, purpose: 'change_email' }).update({ expires_at: new Date(Date.now() - 1000) });
  t.is(await typeCode(page, hub.url, mail.code), 400);
  t.regex((await page.locator('.alert-error').textContent())!, /not right, or it has expired/);
  t.is((await page.goto(mail.link))!.status(), 400);
  t.is((await emailOf(s)).email, person.email);

  // A new request; five wrong codes spend it, so the right one no longer works.
  s.mail.messages.length = 0;
  t.is(await askForChange(page, hub.url, email, person.password), 303);
  mail = await changeMail(s.mail, email);
  for (let i = 1; i <= 5; i++) t.is(await typeCode(page, hub.url, String((Number(mail.code) + i) % 1_000_000).padStart(6, '0')), 400);
  t.is(await typeCode(page, hub.url, mail.code), 400);
  t.is((await emailOf(s)).email, person.email);

  // Another request, cancelled: neither its code nor its link works.
  s.mail.messages.length = 0;
  t.is(await askForChange(page, hub.url, email, person.password), 303);
  mail = await changeMail(s.mail, email);
  await page.getByRole('button', { name: 'Cancel the change' }).click();
  await page.waitForURL(/notice=change-cancelled/);
  t.is(await typeCode(page, hub.url, mail.code), 400);
  t.is((await page.goto(mail.link))!.status(), 400);
  t.is((await emailOf(s)).email, person.email);
});

test.serial('an address another account uses: asked for like any other, refused at confirmation', async (t) => {
  const s = await setUp(t);
  const { hub, person, page } = s;
  const other = await makePerson(hub);
  const free = newAddress(s);

  // The answer for a free address and for a taken one is the same page (only the address differs).
  t.is(await askForChange(page, hub.url, free, person.password), 303);
  const freePage = (await page.locator('.page-head').innerText()).replace(free, 'ADDRESS');
  await changeMail(s.mail, free);
  t.is(await askForChange(page, hub.url, other.email, person.password), 303);
  const takenPage = (await page.locator('.page-head').innerText()).replace(other.email, 'ADDRESS');
  t.is(takenPage, freePage);

  const { code } = await changeMail(s.mail, other.email);
  t.is(await typeCode(page, hub.url, code), 409);
  t.regex((await page.locator('.alert-error').textContent())!, /cannot be used/);
  t.is((await emailOf(s)).email, person.email);
  t.is((await emailOf(s, other.id)).email, other.email);
  t.truthy(await hub.db('audit_log').where({ action: 'email.change_refused', subject_id: person.id }).first());
  t.is(await hub.db('outbox').where({ type: 'user.updated', user_id: person.id }).first(), undefined);
});
