/**
 * Screenshots of every portal and admin page at 360 px and 1280 px, for docs/screenshots and the
 * README. Starts a hub of its own (embedded PGlite in memory), seeds the VEZE services, a person
 * with plans, sessions on a PlayStation and a phone, grants, activity and audit entries, then
 * signs in with Debian's Chromium and saves each page.
 *
 *   npx node scripts/screenshots.ts [--only home,sessions] [--out docs/screenshots]
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as oidc from 'openid-client';
import { chromium, type Page } from 'playwright-core';
import { loadConfig } from '../src/platform/config.ts';
import { startHub, type Hub } from '../src/app/start.ts';
import { createClient } from '../src/catalog/clients.ts';
import { grantEntitlement } from '../src/catalog/entitlements.ts';
import { createService } from '../src/catalog/services.ts';
import { createUser } from '../src/identity/users.ts';
import { projectRoot } from '../src/platform/views.ts';
import { appendEvent } from '../src/outbox/outbox.ts';
import { setConsent } from '../src/privacy/privacy.ts';
import { signInThroughPages } from '../test/helpers/user-agent.ts';
import { NamedAgent, userAgents } from '../test/portal/named-agent.ts';

const { values } = parseArgs({ options: { only: { type: 'string' }, out: { type: 'string', default: path.join(projectRoot, 'docs/screenshots') } } });

const services = [
  { slug: 'vezepyweb', name: 'VEZEPyWeb', url: 'https://web.veze.example' },
  { slug: 'vezepygame', name: 'VEZEPyGame', url: 'https://game.veze.example' },
  { slug: 'vezepycgrow', name: 'VEZEPyCGrow', url: 'https://grow.veze.example' },
  { slug: 'vezepysports', name: 'VEZEPySports', url: 'https://sports.veze.example' },
  { slug: 'vezepyemail', name: 'VEZEPyEmail', url: 'https://mail.veze.example' },
];
const person = { email: 'ada@veze.example', password: 'correct horse battery staple', name: 'Ada Lovelace' };

async function signInToService(hub: Hub, agent: NamedAgent, client: { client_id: string; client_secret?: string }, redirectUri: string) {
  const rp = await oidc.discovery(new URL(hub.url), client.client_id, {}, oidc.ClientSecretBasic(client.client_secret!), { execute: [oidc.allowInsecureRequests] });
  const url = oidc.buildAuthorizationUrl(rp, {
    redirect_uri: redirectUri,
    scope: 'openid email profile offline_access',
    prompt: 'consent',
    code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
  });
  await signInThroughPages(agent, hub.url, url.href, person.email, person.password);
}

async function seed(hub: Hub) {
  const validate = async (m: Record<string, unknown>) => {
    await (hub.holder.current.Client as unknown as { validate(m: unknown): Promise<void> }).validate(m);
  };
  const clients = new Map<string, { client_id: string; client_secret?: string }>();
  for (const s of services) {
    await createService(hub.db, { slug: s.slug, name: s.name, url: s.url, firstParty: true, defaultTier: s.slug === 'vezepyweb' ? undefined : 'basic' });
    clients.set(s.slug, await createClient(hub.db, hub.secrets.clients, validate, { service: s.slug, type: 'web', redirectUris: [`${s.url}/callback`], postLogoutRedirectUris: [`${s.url}/`] }));
  }
  await createService(hub.db, { slug: 'partner-radio', name: 'Partner Radio', url: 'https://radio.partner.example' });
  await hub.db('services').where({ slug: 'partner-radio' }).update({ status: 'suspended' });
  const user = await createUser(hub.db, hub.hasher, { ...person, admin: true, emailVerified: true });
  for (const [name, email] of [['Grace Hopper', 'grace@veze.example'], ['Alan Turing', 'alan@veze.example'], ['Katherine Johnson', 'katherine@veze.example'], ['Margaret Hamilton', 'margaret@veze.example']]) {
    await createUser(hub.db, hub.hasher, { email: email!, name: name!, password: person.password, emailVerified: true });
  }
  await grantEntitlement(hub.db, { email: person.email, service: 'vezepygame', tier: 'basic' });
  await grantEntitlement(hub.db, { email: person.email, service: 'vezepygame', tier: 'pro', expires: '2027-06-30T00:00:00Z' });
  await grantEntitlement(hub.db, { email: person.email, service: 'vezepyemail', tier: 'plus' });
  await grantEntitlement(hub.db, { email: person.email, service: 'vezepysports', tier: 'season', expires: '2026-01-31T00:00:00Z' });
  // Sessions on a PlayStation (signed in to the game) and a phone (signed in to mail).
  const console = new NamedAgent(userAgents.playStation);
  await signInToService(hub, console, clients.get('vezepygame')!, 'https://game.veze.example/callback');
  const phone = new NamedAgent(userAgents.iPhone);
  await signInToService(hub, phone, clients.get('vezepyemail')!, 'https://mail.veze.example/callback');
  await setConsent(hub.db, user.id, 'vezepyemail', { profile: true, email: true, activity: false });
  await hub.db.transaction(async (trx) => {
    await appendEvent(trx, { type: 'game.match.finished', userId: user.id, service: 'vezepygame', data: { result: 'won' } });
    await appendEvent(trx, { type: 'email.sent', userId: user.id, service: 'vezepyemail', data: {} });
  });
}

const pages: Array<{ name: string; path: string; admin?: boolean }> = [
  { name: 'home', path: '/account' },
  { name: 'services', path: '/account/services' },
  { name: 'security', path: '/account/security' },
  { name: 'devices', path: '/account/devices' },
  { name: 'sessions', path: '/account/sessions' },
  { name: 'privacy', path: '/account/privacy' },
  { name: 'delete-account', path: '/account/privacy/delete' },
  { name: 'activity', path: '/account/activity' },
  { name: 'admin', path: '/admin' },
  { name: 'admin-services', path: '/admin/services' },
  { name: 'admin-service', path: '/admin/services/vezepygame' },
  { name: 'admin-users', path: '/admin/users' },
  { name: 'admin-user', path: '/admin/users/{ada}' },
  { name: 'admin-audit', path: '/admin/audit' },
  { name: 'admin-keys', path: '/admin/keys' },
  { name: 'admin-system', path: '/admin/system' },
];

const dataDir = mkdtempSync(path.join(tmpdir(), 'uq-shots-'));
const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'warn', UNIQVERSE_SECRET: 'screenshots-only-secret-0123456789abcdef' });
config.database = { kind: 'pglite', dir: null };
const hub = await startHub(config);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
try {
  await seed(hub);
  const ada = (await hub.db('users').where({ email: person.email }).first('id')) as { id: string };
  const only = values.only?.split(',');
  mkdirSync(values.out!, { recursive: true });
  const broken: string[] = [];
  for (const scheme of ['light', 'dark'] as const) {
    for (const width of [1280, 360]) {
      if (scheme === 'dark' && width === 360) continue;
      const context = await browser.newContext({ viewport: { width, height: width === 360 ? 780 : 900 }, colorScheme: scheme, deviceScaleFactor: 1, userAgent: userAgents.macChrome });
      const page: Page = await context.newPage();
      await page.goto(`${hub.url}/account`);
      await page.getByLabel('Email').fill(person.email);
      await page.getByLabel('Password', { exact: true }).fill(person.password);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.waitForURL(`${hub.url}/account`);
      for (const p of pages) {
        if (only && !only.includes(p.name)) continue;
        if (scheme === 'dark' && p.name !== 'home' && p.name !== 'sessions') continue;
        const response = await page.goto(`${hub.url}${p.path.replace('{ada}', ada.id)}`);
        if (!response || response.status() >= 400) {
          broken.push(`${p.path}: ${response?.status()}`);
          continue;
        }
        const file = path.join(values.out!, `${p.name}-${width}${scheme === 'dark' ? '-dark' : ''}.png`);
        await page.screenshot({ path: file, fullPage: true });
        console.log(`saved ${path.relative(projectRoot, file)}`);
      }
      await context.close();
    }
  }
  if (broken.length) console.log(`not saved (page not there yet or failed):\n  ${broken.join('\n  ')}`);
} finally {
  await browser.close();
  await hub.close();
  rmSync(dataDir, { recursive: true, force: true });
}
