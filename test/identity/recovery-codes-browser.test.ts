import test from 'ava';
import type { Page } from 'playwright-core';
import type { Hub } from '../../src/app/start.ts';
import { newPage, signInInBrowser } from '../helpers/browser.ts';
import { makePerson } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { setUpAuthenticatorApp } from './strong-sign-in-helpers.ts';

const shownCodes = async (page: Page) => ((await page.locator('#recovery-code-list').textContent()) ?? '').split('\n').map((line) => line.trim()).filter(Boolean);

/** Generates codes on the security page; replacing codes the person still has asks first. */
async function generateCodes(page: Page, hubUrl: string, options: { replacing?: boolean } = {}): Promise<string[]> {
  await page.goto(`${hubUrl}/account/security`);
  await page.getByRole('button', { name: 'Generate recovery codes' }).click();
  if (options.replacing) await page.getByRole('dialog').getByRole('button', { name: 'Generate new codes' }).click();
  await page.locator('#recovery-code-list').waitFor();
  return shownCodes(page);
}

const storedHashes = async (hub: Hub, userId: string) =>
  (await hub.db('recovery_codes').where({ user_id: userId }).whereNull('used_at').select('code_hash')).map((r) => r.code_hash as string).sort();

test.serial('recovery codes are shown once, one per line, stored hashed; each signs in once and says how many are left', async (t) => {
  const hub = await startTestHub(t);
  const person = await makePerson(hub);
  const { page } = await newPage(t);
  await signInInBrowser(page, hub.url, person.email, person.password);
  await setUpAuthenticatorApp(page, hub.url);
  const codes = await generateCodes(page, hub.url);
  t.is(codes.length, 10);
  t.is(new Set(codes).size, 10);
  for (const code of codes) t.regex(code, /^[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}$/);
  const stored = await hub.db('recovery_codes').where({ user_id: person.id });
  t.is(stored.length, 10);
  const dump = JSON.stringify(stored);
  for (const code of codes) t.false(dump.includes(code.replace(/-/g, '')) || dump.includes(code));
  // Shown once: the page afterwards only counts them.
  await page.goto(`${hub.url}/account/security`);
  t.is(await page.locator('#recovery-code-list').count(), 0);
  t.regex((await page.locator('#recovery-codes').textContent())!, /You have 10 unused codes/);

  // Behind the link "Use a recovery code".
  const second = await newPage(t);
  await signInInBrowser(second.page, hub.url, person.email, person.password);
  await second.page.getByRole('link', { name: 'Use a recovery code' }).click();
  await second.page.getByLabel('Recovery code').fill(codes[0]!.toUpperCase());
  await second.page.getByRole('button', { name: 'Verify' }).click();
  t.is((await second.page.locator('#recovery-codes-left').textContent())!.trim(), 'You have 9 recovery codes left.');
  await second.page.getByRole('link', { name: 'Continue' }).click();
  await second.page.waitForURL(`${hub.url}/account`);

  // In the "Code" field of the second step, too.
  const third = await newPage(t);
  await signInInBrowser(third.page, hub.url, person.email, person.password);
  await third.page.getByLabel('Code').fill(codes[1]!);
  await third.page.getByRole('button', { name: 'Verify' }).click();
  t.is((await third.page.locator('#recovery-codes-left').textContent())!.trim(), 'You have 8 recovery codes left.');

  // A used code does not work again.
  const fourth = await newPage(t);
  await signInInBrowser(fourth.page, hub.url, person.email, person.password);
  await fourth.page.getByRole('link', { name: 'Use a recovery code' }).click();
  await fourth.page.getByLabel('Recovery code').fill(codes[0]!);
  const reused = fourth.page.waitForResponse((r) => r.request().method() === 'POST' && !r.url().endsWith('/account/time-zone'));
  await fourth.page.getByRole('button', { name: 'Verify' }).click();
  t.is((await reused).status(), 401);
  t.regex((await fourth.page.getByRole('alert').textContent())!, /not right/);
  t.is(await fourth.page.getByLabel('Recovery code').count(), 1, 'still on the recovery-code form');
  t.is(await hub.db('audit_log').where({ action: 'recovery_code.used', subject_id: person.id }).count<{ n: string }[]>('* as n').first().then((r) => Number(r!.n)), 2);
});

test.serial('new recovery codes replace the old ones', async (t) => {
  const hub = await startTestHub(t);
  const person = await makePerson(hub);
  const { page } = await newPage(t);
  await signInInBrowser(page, hub.url, person.email, person.password);
  await setUpAuthenticatorApp(page, hub.url);
  const old = await generateCodes(page, hub.url);
  const oldHashes = await storedHashes(hub, person.id);

  // Replacing them asks first: cancelling keeps the old codes.
  await page.goto(`${hub.url}/account/security`);
  await page.getByRole('button', { name: 'Generate recovery codes' }).click();
  const dialog = page.getByRole('dialog');
  t.regex((await dialog.textContent()) ?? '', /Replace your recovery codes\? Your 10 unused codes stop working at once\./);
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  t.deepEqual(await storedHashes(hub, person.id), oldHashes);
  t.regex((await page.locator('#recovery-codes').textContent())!, /You have 10 unused codes/);

  // Confirmed: the new codes are shown in place, once.
  await page.getByRole('button', { name: 'Generate recovery codes' }).click();
  await dialog.getByRole('button', { name: 'Generate new codes' }).click();
  await page.locator('#recovery-code-list').waitFor();
  t.is(new URL(page.url()).pathname, '/account/security', 'updated in place, no navigation');
  const fresh = await shownCodes(page);
  t.is(fresh.length, 10);
  t.is(fresh.filter((c) => old.includes(c)).length, 0);
  t.notDeepEqual(await storedHashes(hub, person.id), oldHashes);

  const other = await newPage(t);
  await signInInBrowser(other.page, hub.url, person.email, person.password);
  await other.page.getByLabel('Code').fill(old[0]!);
  await other.page.getByRole('button', { name: 'Verify' }).click();
  t.regex((await other.page.getByRole('alert').textContent())!, /not right/);
  await other.page.getByLabel('Code').fill(fresh[0]!);
  await other.page.getByRole('button', { name: 'Verify' }).click();
  t.regex((await other.page.locator('#recovery-codes-left').textContent())!, /9 recovery codes left/);
});

test.serial('without JavaScript, replacing recovery codes asks once on a page of its own', async (t) => {
  const hub = await startTestHub(t);
  const person = await makePerson(hub);
  const { page } = await newPage(t, { javaScriptEnabled: false });
  await signInInBrowser(page, hub.url, person.email, person.password);
  // The first codes replace nothing: no question.
  const old = await generateCodes(page, hub.url);
  t.is(old.length, 10);
  const oldHashes = await storedHashes(hub, person.id);

  await page.goto(`${hub.url}/account/security`);
  await page.getByRole('button', { name: 'Generate recovery codes' }).click();
  await page.waitForURL(/\/account\/security\/recovery-codes\??$/);
  t.is(await page.getByRole('heading', { level: 1 }).textContent(), 'Replace your recovery codes?');
  await page.getByRole('link', { name: 'Cancel' }).click();
  await page.waitForURL(`${hub.url}/account/security`);
  t.deepEqual(await storedHashes(hub, person.id), oldHashes);

  await page.getByRole('button', { name: 'Generate recovery codes' }).click();
  await page.getByRole('button', { name: 'Generate new codes' }).click();
  const fresh = await shownCodes(page);
  t.is(fresh.length, 10);
  t.is(fresh.filter((c) => old.includes(c)).length, 0);
  t.notDeepEqual(await storedHashes(hub, person.id), oldHashes);
});
