import { existsSync } from 'node:fs';
import test, { type ExecutionContext } from 'ava';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

let shared: Promise<Browser> | null = null;

// The browser would keep the test worker alive; close it when the file's tests are done.
test.after.always(async () => {
  if (shared) await (await shared).close();
});

/** One Chromium per test worker (Debian's, never a downloaded one); each test gets its own context. */
export function launchBrowser(): Promise<Browser> {
  if (!existsSync(chromiumPath)) throw new Error(`Chromium not found at ${chromiumPath}: run "apt-get install -y chromium" (npm test does this when it can).`);
  // Playwright gives the browser a fresh, empty profile directory of its own.
  shared ??= chromium.launch({ executablePath: chromiumPath, args: chromiumArgs, headless: true });
  return shared;
}

export interface BrowserPage {
  context: BrowserContext;
  page: Page;
}

/** A fresh browser context and page for this test, closed when the test ends. */
export async function newPage(t: ExecutionContext, options: { width?: number; height?: number; javaScriptEnabled?: boolean } = {}): Promise<BrowserPage> {
  const browser = await launchBrowser();
  const context = await browser.newContext({
    viewport: { width: options.width ?? 1280, height: options.height ?? 900 },
    javaScriptEnabled: options.javaScriptEnabled ?? true,
  });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  t.teardown(() => context.close());
  return { context, page };
}

/** Signs in on the hub's own pages (the sign-in form), starting from `startUrl` (default: the account page). */
export async function signInInBrowser(page: Page, hubUrl: string, email: string, password: string, startUrl = `${hubUrl}/account`): Promise<void> {
  await page.goto(startUrl);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  // Until the page the form leads to (after the POST's redirects) has loaded. Waiting for 'load'
  // after the click returned at once, the sign-in page being loaded already, so the test's next
  // step could start while the redirects were still on their way.
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.getByRole('button', { name: 'Sign in', exact: true }).click()]);
}
