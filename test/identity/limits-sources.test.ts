import test from 'ava';
import type { Hub } from '../../src/app/start.ts';
import { createAppPassword } from '../../src/identity/app-passwords.ts';
import { createLimits, limitPolicy, sourceOf } from '../../src/platform/rate-limits.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { testRedisPrefix, testRedisUrl } from '../helpers/backend.ts';
import { makeClient, makePerson, makeService } from '../helpers/fixtures.ts';
import { basic, scene } from '../helpers/oidc.ts';
import { UserAgent } from '../helpers/user-agent.ts';
import { auditCount, loginForm, typePassword } from './limits-helpers.ts';

// Locks are per account and source, so a stranger cannot lock a person out by guessing.

const trusted = { hub: { env: { TRUST_PROXY: 'true' } } };

test('ten wrong passwords from one address lock that address out of the account, not the person signing in from elsewhere', async (t) => {
  const s = await scene(t, trusted);
  for (let i = 0; i < limitPolicy.accountAttempts; i++) {
    t.is((await typePassword(await loginForm(s), s.person.email, `wrong ${i}`, '198.51.100.7')).status, 401);
  }
  t.is((await typePassword(await loginForm(s), s.person.email, s.person.password, '198.51.100.7')).status, 401, 'the guessing address stays locked');
  t.is(await auditCount(s.hub, 'signin.failed', { locked: true }), 1);
  const owner = await typePassword(await loginForm(s), s.person.email, s.person.password, '192.0.2.20');
  t.is(owner.status, 303, 'the person, elsewhere, signs in');
});

test('IPv6 guesses are counted by /64: changing the low bits buys no new budget, another network is another source', async (t) => {
  const s = await scene(t, trusted);
  for (let i = 0; i < limitPolicy.accountAttempts; i++) {
    t.is((await typePassword(await loginForm(s), s.person.email, `wrong ${i}`, `2001:db8:1:2::${(i + 1).toString(16)}`)).status, 401);
  }
  t.is((await typePassword(await loginForm(s), s.person.email, s.person.password, '2001:db8:1:2:ffff:ffff:ffff:fffe')).status, 401);
  t.is((await typePassword(await loginForm(s), s.person.email, s.person.password, '2001:db8:1:3::1')).status, 303);
});

test('sourceOf: IPv4 as is, IPv4-mapped IPv6 as IPv4, IPv6 by its /64 whatever its spelling', (t) => {
  t.is(sourceOf('192.0.2.1'), '192.0.2.1');
  t.is(sourceOf('::ffff:192.0.2.1'), '192.0.2.1');
  t.is(sourceOf('2001:db8:1:2::1'), '2001:db8:1:2::/64');
  t.is(sourceOf('2001:0DB8:0001:0002:ffff:ffff:ffff:fffe'), '2001:db8:1:2::/64');
  t.is(sourceOf('2001:db8::1'), '2001:db8:0:0::/64');
  t.is(sourceOf('::1'), '0:0:0:0::/64');
  t.is(sourceOf('fe80::1%eth0'), 'fe80:0:0:0::/64');
  t.is(sourceOf(''), 'unknown');
});

test('a browser that signed in before still signs in while its own address is locked by someone else\'s guesses; a made-up browser cookie does not', async (t) => {
  const s = await scene(t);
  const mine = new UserAgent();
  t.is((await typePassword(await loginForm(s, mine), s.person.email, s.person.password)).status, 303);
  t.truthy(await s.hub.db('known_devices').where({ user_id: s.person.id }).first());

  // Someone on the same address (a shared network) locks it out of the account.
  for (let i = 0; i < limitPolicy.accountAttempts; i++) t.is((await typePassword(await loginForm(s), s.person.email, `wrong ${i}`)).status, 401);
  t.is((await typePassword(await loginForm(s), s.person.email, s.person.password)).status, 401, 'locked for browsers the account does not know');

  const forged = new UserAgent();
  const forgedForm = await loginForm(s, forged);
  const cookie = forged.cookieHeader();
  const withCookie = await forged.request(forgedForm.action, {
    method: 'POST',
    body: new URLSearchParams({ email: s.person.email, password: s.person.password }),
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `${cookie}; uq_device=${'A'.repeat(43)}` },
  });
  t.is(withCookie.status, 401, 'a browser cookie the account never signed in from is no key');

  t.is((await typePassword(await loginForm(s, mine), s.person.email, s.person.password)).status, 303, 'the known browser signs in');
});

/** The account's ceiling across sources, straight on the limiter (on Redis when the run has one). */
test('a distributed guess meets the account\'s ceiling; known devices, other kinds and app-password services do not', async (t) => {
  const limits = await createLimits({ redisUrl: testRedisUrl ?? null, redisPrefix: testRedisPrefix(), logger: createLogger('silent') });
  t.teardown(() => limits.close());
  const accountKey = 'ceiling-user';
  const sources = Math.ceil(limitPolicy.accountCeiling / limitPolicy.accountAttempts);
  let allowed = 0;
  for (let n = 0; n < sources; n++) {
    for (let i = 0; i < limitPolicy.accountAttempts; i++) {
      if ((await limits.check('password', { accountKey, ip: `10.${n >> 8}.${n & 255}.1` })).allowed) allowed++;
    }
  }
  t.is(allowed, limitPolicy.accountCeiling);
  t.false((await limits.check('password', { accountKey, ip: '192.0.2.99' })).allowed, 'a fresh address is refused past the ceiling');
  t.true((await limits.check('password', { accountKey, ip: '192.0.2.99', knownBrowser: 'a-known-device-hash' })).allowed, 'a known device still gets in');
  t.true((await limits.check('totp', { accountKey, ip: '192.0.2.99' })).allowed, 'codes have their own budget');
  t.true((await limits.check('app_password', { accountKey, ip: '192.0.2.99', service: 'mail' })).allowed, 'a service\'s checks have theirs');
  t.true(limitPolicy.accountCeiling >= 10 * limitPolicy.accountAttempts, 'high enough that one source cannot reach it');
});

test('an address locked for spraying guesses at many accounts still lets a known device of one of them in', async (t) => {
  const limits = await createLimits({ redisUrl: testRedisUrl ?? null, redisPrefix: testRedisPrefix(), logger: createLogger('silent') });
  t.teardown(() => limits.close());
  const ip = '198.51.100.50';
  for (let i = 0; i < limitPolicy.ipAttempts; i++) t.true((await limits.check('password', { accountKey: `sprayed-${i}`, ip })).allowed);
  t.false((await limits.check('password', { accountKey: 'victim', ip })).allowed, 'the address is locked');
  t.false((await limits.check('password', { ip, knownBrowser: 'no-account-no-exemption' })).allowed);
  t.true((await limits.check('password', { accountKey: 'victim', ip, knownBrowser: 'victims-laptop' })).allowed, 'the known device is not');
  // Its own budget still holds.
  for (let i = 1; i < limitPolicy.accountAttempts; i++) await limits.check('password', { accountKey: 'victim', ip, knownBrowser: 'victims-laptop' });
  t.false((await limits.check('password', { accountKey: 'victim', ip, knownBrowser: 'victims-laptop' })).allowed);
});

async function verifyAt(hub: Hub, client: { client_id: string; client_secret?: string }, username: string, password: string) {
  const response = await fetch(`${hub.url}/api/v1/app-passwords/verify`, {
    method: 'POST',
    headers: { authorization: basic(client), 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  await response.arrayBuffer();
  return response.status;
}

test('app-password checks: each calling service has its own budget per person, and a mail server\'s many bad checks lock out none of its other users', async (t) => {
  const s = await scene(t);
  const hub = s.hub;
  await makeService(hub, 'mailsvc');
  await makeService(hub, 'gamesvc');
  const mail = await makeClient(hub, { service: 'mailsvc' });
  const game = await makeClient(hub, { service: 'gamesvc' });
  const person = s.person;
  const other = await makePerson(hub);
  const everywhere = (await createAppPassword(hub.db, hub.secrets.credentials, person.id, { deviceName: 'Laptop', deviceType: 'desktop', service: 'all' })).password;
  const othersMail = (await createAppPassword(hub.db, hub.secrets.credentials, other.id, { deviceName: 'Phone', deviceType: 'phone', service: 'mailsvc' })).password;

  for (let i = 0; i < limitPolicy.accountAttempts; i++) t.is(await verifyAt(hub, mail, person.email, 'aaaa bbbb cccc dddd'), 401);
  t.is(await verifyAt(hub, mail, person.email, everywhere), 401, 'the mail service is locked for this person');
  t.is(await verifyAt(hub, game, person.email, everywhere), 200, 'the game service is not');

  // One mail server, one address, many people's bad checks: more than an IP's allowance.
  for (let i = 0; i < limitPolicy.ipAttempts; i++) t.is(await verifyAt(hub, mail, `nobody-${i}@example.test`, 'aaaa bbbb cccc dddd'), 401);
  t.is(await verifyAt(hub, mail, other.email, othersMail), 200, 'another user of the same service is still verified');
  // The person's own sign-in form, from the same address, is a budget of its own too.
  t.is((await typePassword(await loginForm(s), person.email, person.password)).status, 303);
});

test('erasure: forget drops every counter named after the account (its lock, its ceiling, the addresses in its keys) and no other account\'s', async (t) => {
  const limits = await createLimits({ redisUrl: testRedisUrl ?? null, redisPrefix: testRedisPrefix(), logger: createLogger('silent') });
  t.teardown(() => limits.close());
  const gone = '5d0c1c58-64a4-4bd1-9a47-3a39a36f0a51';
  const kept = '6e1d2d69-75b5-4ce2-8b58-4b4ab47f1b62';
  for (const accountKey of [gone, kept]) {
    for (let i = 0; i < limitPolicy.accountAttempts; i++) await limits.fail(await limits.check('password', { accountKey, ip: '203.0.113.7' }));
    t.false((await limits.check('password', { accountKey, ip: '203.0.113.7' })).allowed, 'locked from that address');
  }
  t.true((await limits.forget(gone)) >= 2, 'its per-source lock and its ceiling');
  t.true((await limits.check('password', { accountKey: gone, ip: '203.0.113.7' })).allowed, 'nothing of the forgotten account is counted any more');
  t.false((await limits.check('password', { accountKey: kept, ip: '203.0.113.7' })).allowed, 'the other account keeps its lock');
  t.is(await limits.forget('0f0f0f0f-0000-4000-8000-000000000000'), 0);
  await t.throwsAsync(() => limits.forget('limit:*'), { instanceOf: TypeError });
});
