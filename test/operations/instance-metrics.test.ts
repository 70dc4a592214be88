import test from 'ava';
import { createWebhook } from '../../src/events/webhooks.ts';
import { createAppPassword } from '../../src/identity/app-passwords.ts';
import { generateRecoveryCodes } from '../../src/identity/recovery-codes.ts';
import { rotateSigningKeys, signingAlgs } from '../../src/oidc/signing-keys.ts';
import { limitPolicy } from '../../src/platform/rate-limits.ts';
import { startTestHub } from '../helpers/hub.ts';
import { grant, makePerson } from '../helpers/fixtures.ts';
import { basic, eventually, sceneOn } from '../helpers/oidc.ts';
import { webhookReceiver } from '../events/helpers.ts';
import { enrolTotp, loginForm, nextTotpCode, typeCode, typePassword } from '../identity/limits-helpers.ts';
import { metricsToken, samples, scrape, total } from './scrape.ts';

const read = async (hub: Parameters<typeof scrape>[0]) => samples(await scrape(hub));

test('second-factor sign-ins are counted by method, and a locked password by its limit', async (t) => {
  const hub = await startTestHub(t, { env: { METRICS_TOKEN: metricsToken } });
  const s = await sceneOn(hub);
  const secret = await enrolTotp(hub, s.person);

  const form = await loginForm(s);
  t.is((await typePassword(form, s.person.email, s.person.password)).status, 303);
  t.is((await typeCode(hub, form, '000000')).status, 401);
  t.is((await typeCode(hub, form, await nextTotpCode(secret))).status, 303);

  // A second person's password, guessed until the account locks for this source.
  const other = await makePerson(hub);
  const guesses = await loginForm(s);
  for (let i = 0; i <= limitPolicy.accountAttempts; i++) await typePassword(guesses, other.email, `wrong guess ${i}`);

  const all = await read(hub);
  t.is(total(all, 'uniqverse_sign_ins_total', { method: 'password', outcome: 'second_factor_required' }), 1);
  t.is(total(all, 'uniqverse_sign_ins_total', { method: 'totp', outcome: 'invalid_credentials' }), 1);
  t.is(total(all, 'uniqverse_sign_ins_total', { method: 'totp', outcome: 'success' }), 1);
  t.is(total(all, 'uniqverse_sign_ins_total', { method: 'password', outcome: 'invalid_credentials' }), limitPolicy.accountAttempts + 1);
  t.is(total(all, 'uniqverse_rate_limit_refusals_total', { limit: 'password' }), 1, 'the attempt past the limit is refused by it');
});

test('recovery codes and app passwords are counted as such, an app password check by the service that asks', async (t) => {
  const hub = await startTestHub(t, { env: { METRICS_TOKEN: metricsToken } });
  const s = await sceneOn(hub);
  await enrolTotp(hub, s.person);
  const [code] = await generateRecoveryCodes(hub.db, hub.secrets.credentials, s.person.id);
  const form = await loginForm(s);
  t.is((await typePassword(form, s.person.email, s.person.password)).status, 303);
  t.is((await typeCode(hub, form, 'abcd-efgh-ijkl')).status, 401);
  t.true([200, 303].includes((await typeCode(hub, form, code!)).status));

  const { password } = await createAppPassword(hub.db, hub.secrets.credentials, s.person.id, { deviceName: 'Mail', deviceType: 'desktop', service: s.service.slug });
  const check = (secret: string) =>
    fetch(`${hub.url}/api/v1/app-passwords/verify`, {
      method: 'POST',
      headers: { authorization: basic(s.client), 'content-type': 'application/json' },
      body: JSON.stringify({ username: s.person.email, password: secret }),
    });
  t.is((await check(password)).status, 200);
  t.is((await check('zzzzzzzzzzzzzzzz')).status, 401);

  const all = await read(hub);
  t.is(total(all, 'uniqverse_sign_ins_total', { method: 'recovery_code', outcome: 'invalid_credentials' }), 1);
  t.is(total(all, 'uniqverse_sign_ins_total', { method: 'recovery_code', outcome: 'success' }), 1);
  t.is(total(all, 'uniqverse_sign_ins_total', { method: 'totp' }), 0);
  t.is(total(all, 'uniqverse_sign_ins_total', { method: 'app_password', outcome: 'success' }), 1);
  t.is(total(all, 'uniqverse_sign_ins_total', { method: 'app_password', outcome: 'invalid_credentials' }), 1);
  t.is(total(all, 'uniqverse_http_request_duration_seconds_count', { route: '/api/v1/app-passwords/verify', service: s.service.slug }), 2);
});

test('webhook attempts are counted by service and outcome', async (t) => {
  const hub = await startTestHub(t, { env: { METRICS_TOKEN: metricsToken } });
  const s = await sceneOn(hub);
  // The first attempt is rejected, the retry delivered.
  const receiver = await webhookReceiver((request, index) => (index === 0 ? 500 : 204));
  t.teardown(() => receiver.close());
  await createWebhook(hub.db, hub.events.webhookBox, { service: s.service.slug, url: receiver.url });
  await grant(hub, s.person.email, s.service.slug, 'basic');

  const all = await eventually(async () => {
    const now = await read(hub);
    return total(now, 'uniqverse_webhook_attempts_total', { outcome: 'delivered', service: s.service.slug }) >= 1 ? now : undefined;
  }, 20_000);
  t.true(total(all, 'uniqverse_webhook_attempts_total', { outcome: 'rejected', service: s.service.slug }) >= 1);
});

test('the password hasher\'s load, the database pool, the signing keys\' age and the audit checkpoints\' lag are gauges', async (t) => {
  const hub = await startTestHub(t, { env: { METRICS_TOKEN: metricsToken } });

  // More hashes than there are slots: some run, the rest wait.
  const hashes = Array.from({ length: 24 }, (_, i) => hub.hasher.hash(`password ${i}`));
  const busy = await read(hub);
  await Promise.all(hashes);
  t.true(total(busy, 'uniqverse_password_hashes_running') >= 1);
  t.true(total(busy, 'uniqverse_password_hash_queue_depth') >= 1);
  const idle = await read(hub);
  t.is(total(idle, 'uniqverse_password_hashes_running'), 0);
  t.is(total(idle, 'uniqverse_password_hash_queue_depth'), 0);
  t.true(total(idle, 'uniqverse_db_pool_connections', { state: 'used' }) + total(idle, 'uniqverse_db_pool_connections', { state: 'free' }) >= 1);
  t.is(total(idle, 'uniqverse_db_pool_connections', { state: 'pending' }), 0);

  // Keys made at start are minutes old; keys that became active 100 days ago are 100 days old.
  for (const alg of signingAlgs) t.true(total(idle, 'uniqverse_signing_key_age_seconds', { alg }) < 600, alg);
  await rotateSigningKeys(hub.db, hub.secrets.keys, { activationDelaySeconds: 0, now: new Date(Date.now() - 100 * 86_400_000) });
  await hub.holder.refresh();
  const rotated = await read(hub);
  for (const alg of signingAlgs) t.true(total(rotated, 'uniqverse_signing_key_age_seconds', { alg }) >= 100 * 86_400, alg);

  // An audit entry (the rotation's, and a failed sign-in's) waits for the checkpoint writer, until it signs.
  const s = await sceneOn(hub);
  t.is((await typePassword(await loginForm(s), s.person.email, 'not the password')).status, 401);
  await eventually(async () => (total(await read(hub), 'uniqverse_audit_unsigned_seconds') > 0 ? true : undefined), 15_000);
  await hub.auditCheckpoints.flush();
  const signed = await read(hub);
  t.is(total(signed, 'uniqverse_audit_unsigned_seconds'), 0);
  t.true(Math.abs(total(signed, 'uniqverse_audit_checkpoint_last_written_timestamp_seconds') - Date.now() / 1000) < 60);
});
