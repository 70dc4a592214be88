import test from 'ava';
import type { BrowserContext } from 'playwright-core';
import type { Hub } from '../../src/app/start.ts';
import { sessionPolicy } from '../../src/sessions/session-policy.ts';
import { KnexModelAdapter } from '../../src/oidc/adapter.ts';
import { signedInAgent, signedInBrowser } from '../portal/portal-helpers.ts';
import { makePerson } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';

const day = 24 * 3600;
const nowSeconds = () => Math.floor(Date.now() / 1000);

interface SessionRow {
  id: string;
  expires_at: Date;
  payload: { loginTs: number; exp: number; accountId: string; uid: string; authorizations?: Record<string, unknown> };
}

const sessionOf = async (hub: Hub, userId: string): Promise<SessionRow> => {
  const rows: SessionRow[] = await hub.db('oidc_models').where({ model: 'Session', account_id: userId }).select('id', 'expires_at', 'payload');
  if (rows.length !== 1) throw new Error(`expected one session, found ${rows.length}`);
  return rows[0]!;
};

/** Makes the stored session look as if the person signed in at `loginTs` and it now expires at `exp` (as time passing would). */
async function ageSession(hub: Hub, id: string, { loginTs, exp }: { loginTs: number; exp: number }): Promise<void> {
  await hub.db('oidc_models')
    .where({ model: 'Session', id })
    .update({ expires_at: new Date(exp * 1000), payload: hub.db.raw('payload || ?::jsonb', [JSON.stringify({ loginTs, exp })]) });
}

/** The browser's session cookie (and its signature) expiring at `exp`, as the provider last set it. */
async function ageCookie(context: BrowserContext, url: string, exp: number): Promise<void> {
  const cookies = (await context.cookies(url)).filter((c) => c.name === '_session' || c.name === '_session.sig');
  if (cookies.length !== 2) throw new Error('no session cookie in the browser');
  await context.addCookies(cookies.map((c) => ({ ...c, expires: exp })));
}

const cookieExpiry = async (context: BrowserContext, url: string) => (await context.cookies(url)).find((c) => c.name === '_session')?.expires;

/**
 * Whether the browser's cookie expiry is `exp`. Chromium moves a cookie's expiry by its clock's
 * lead on the answer's Date header, which has whole seconds: up to a second more, plus the
 * time the answer took to arrive (seen in CI: 1.006 s).
 */
const sameExpiry = (cookieExpires: number | undefined, exp: number) => cookieExpires !== undefined && cookieExpires - exp > -0.5 && cookieExpires - exp < 2;

test('using the portal moves the idle expiry on, in the database and the browser, never past 14 days from sign-in; an idle session past its expiry is signed out', async (t) => {
  t.timeout(180_000);
  const { hub, person, page } = await signedInBrowser(t);
  const context = page.context();
  const signedIn = await sessionOf(hub, person.id);

  // A day after signing in, a minute before the idle limit: opening a page keeps the sign-in for 2 more days.
  let now = nowSeconds();
  await ageSession(hub, signedIn.id, { loginTs: now - day, exp: now + 60 });
  await ageCookie(context, hub.url, now + 60);
  await page.goto(`${hub.url}/account/sessions`);
  t.is(new URL(page.url()).pathname, '/account/sessions', 'still signed in');
  const moved = await sessionOf(hub, person.id);
  t.is(moved.id, signedIn.id, 'the same session');
  const expiry = Math.floor(new Date(moved.expires_at).getTime() / 1000);
  t.true(Math.abs(expiry - (nowSeconds() + sessionPolicy.idleSeconds)) < 60, `expires ${expiry - nowSeconds()} s from now`);
  t.is(moved.payload.exp, expiry, 'the provider reads the same expiry from the payload');
  t.is(moved.payload.loginTs, now - day, 'nothing else in the session changes');
  t.deepEqual(moved.payload.authorizations, signedIn.payload.authorizations);
  const cookieExpires = await cookieExpiry(context, hub.url);
  t.true(sameExpiry(cookieExpires, expiry), `the browser keeps the cookie as long: cookie ${cookieExpires}, row ${expiry}`);

  // Thirteen days and 23 hours after signing in: only the hour left of the absolute limit.
  now = nowSeconds();
  const loginTs = now - sessionPolicy.absoluteSeconds + 3600;
  await ageSession(hub, signedIn.id, { loginTs, exp: now + 60 });
  await ageCookie(context, hub.url, now + 60);
  await page.goto(`${hub.url}/account`);
  t.is(new URL(page.url()).pathname, '/account');
  const capped = await sessionOf(hub, person.id);
  t.is(new Date(capped.expires_at).getTime() / 1000, loginTs + sessionPolicy.absoluteSeconds, 'never past 14 days from the sign-in');
  t.is(capped.payload.exp, loginTs + sessionPolicy.absoluteSeconds);
  const cappedCookie = await cookieExpiry(context, hub.url);
  t.true(sameExpiry(cappedCookie, loginTs + sessionPolicy.absoluteSeconds), `the cookie is capped too: cookie ${cappedCookie}, cap ${loginTs + sessionPolicy.absoluteSeconds}`);

  // Two idle days passed (the expiry is behind us): the next page asks to sign in, and the session stays gone.
  now = nowSeconds();
  await ageSession(hub, signedIn.id, { loginTs: now - 3 * day, exp: now - 5 });
  await page.goto(`${hub.url}/account`);
  await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
  t.regex(new URL(page.url()).pathname, /^\/interaction\//);
  const stale = await hub.db('oidc_models').where({ model: 'Session', id: signedIn.id }).first('expires_at');
  t.true(!stale || new Date(stale.expires_at).getTime() < Date.now(), 'not brought back');
});

test('the portal writes the expiry at most once every few minutes per session, never brings back a session ended meanwhile, and keeps what another request saved', async (t) => {
  const hub = await startTestHub(t);
  const person = await makePerson(hub);
  const agent = await signedInAgent(hub, person);
  const { id } = await sessionOf(hub, person.id);
  const sessionCookies = (response: Response) => response.headers.getSetCookie().filter((c) => /^_session(\.sig)?=/.test(c));

  let now = nowSeconds();
  await ageSession(hub, id, { loginTs: now - day, exp: now + 600 });
  const first = await agent.request(`${hub.url}/account`);
  t.is(first.status, 200);
  const set = sessionCookies(first);
  t.is(set.length, 2, 'the cookie and its signature, re-set');
  for (const cookie of set) {
    t.regex(cookie, /; expires=/i);
    t.regex(cookie, /; httponly/i);
    t.regex(cookie, /; samesite=lax/i);
  }
  const extended = await sessionOf(hub, person.id);

  // Pages right after: nothing written, no cookie.
  for (const path of ['/account', '/account/sessions', '/account/activity']) {
    const response = await agent.request(`${hub.url}${path}`);
    t.is(response.status, 200, path);
    t.deepEqual(sessionCookies(response), [], `${path}: no cookie`);
  }
  t.deepEqual((await sessionOf(hub, person.id)).expires_at, extended.expires_at, 'no write within a few minutes');

  // Once the expiry would move by five minutes or more, the next page moves it.
  now = nowSeconds();
  await ageSession(hub, id, { loginTs: now - day, exp: now + sessionPolicy.idleSeconds - sessionPolicy.refreshSeconds - 5 });
  t.is(sessionCookies(await agent.request(`${hub.url}/account`)).length, 2);

  // The write changes only the expiry, and only of a live row: what another request saved in
  // between stays, and a session ended in between stays ended.
  const adapter = hub.holder.current.Session.adapter;
  if (!(adapter instanceof KnexModelAdapter)) return t.fail('the provider does not use our adapter');
  await hub.db('oidc_models').where({ model: 'Session', id }).update({ payload: hub.db.raw("payload || '{\"acr\":\"mfa\"}'::jsonb") });
  t.true(await adapter.extendExpiry(id, nowSeconds() + sessionPolicy.idleSeconds + 60));
  t.is((await sessionOf(hub, person.id)).payload.accountId, person.id);
  t.is(((await sessionOf(hub, person.id)).payload as unknown as { acr: string }).acr, 'mfa');
  await hub.db('oidc_models').where({ model: 'Session', id }).delete();
  t.false(await adapter.extendExpiry(id, nowSeconds() + sessionPolicy.idleSeconds + 120));
  t.is(await hub.db('oidc_models').where({ model: 'Session', id }).first(), undefined);
  const after = await agent.request(`${hub.url}/account`);
  t.is(after.status, 302);
  t.regex(after.headers.get('location')!, /^\/account\/signin/);
});
