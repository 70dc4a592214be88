import test from 'ava';

// One at a time: each test runs a hub and a Chromium page, and the machine is small and shared.
import { grant, makePerson, makeService } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { assertAccessible, csrfTokenOf, serviceSession, signedInAgent, signedInBrowser, userAgents } from '../portal/portal-helpers.ts';

test.serial('a non-admin gets 403 on every admin route, read or write', async (t) => {
  const hub = await startTestHub(t);
  const admin = await makePerson(hub, { admin: true });
  const person = await makePerson(hub);
  await makeService(hub, 'vezepygame');
  const agent = await signedInAgent(hub, person);
  const token = await csrfTokenOf(agent, hub);
  const client = 'vezepygame-web-abcdef';
  const gets = [
    '/admin',
    '/admin/services',
    '/admin/services/vezepygame',
    '/admin/services/vezepygame/suspend',
    '/admin/services/vezepygame/activate',
    '/admin/users',
    `/admin/users/${admin.id}`,
    `/admin/users/${admin.id}/disable`,
    `/admin/users/${admin.id}/enable`,
    `/admin/users/${admin.id}/end-sessions`,
    '/admin/audit',
    '/admin/keys',
    '/admin/keys/rotate',
    '/admin/system',
  ];
  const posts = [
    '/admin/services',
    '/admin/services/vezepygame/clients',
    `/admin/services/vezepygame/clients/${client}/redirect-uris`,
    '/admin/services/vezepygame/health-url',
    '/admin/services/vezepygame/suspend',
    '/admin/services/vezepygame/activate',
    `/admin/users/${admin.id}/entitlements`,
    `/admin/users/${admin.id}/entitlements/vezepygame/end`,
    `/admin/users/${admin.id}/disable`,
    `/admin/users/${admin.id}/enable`,
    `/admin/users/${admin.id}/end-sessions`,
    '/admin/audit/verify',
    '/admin/keys/rotate',
  ];
  for (const path of gets) t.is((await agent.request(`${hub.url}${path}`)).status, 403, `GET ${path}`);
  for (const path of posts) {
    const response = await agent.request(`${hub.url}${path}`, { method: 'POST', body: new URLSearchParams({ _csrf: token, slug: 'x', tier: 'pro' }), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    t.is(response.status, 403, `POST ${path}`);
  }
  t.is((await hub.db('services').where({ slug: 'vezepygame' }).first()).status, 'active');
  t.is(Number((await hub.db('signing_keys').count<{ n: string }>({ n: '*' }).first())?.n), 3);
  // And the navigation does not offer the console.
  t.notRegex(await (await agent.request(`${hub.url}/account`)).text(), /href="\/admin"/);
});

test.serial('the console needs a sign-in from the last 15 minutes, and the second factor when the admin has one', async (t) => {
  const hub = await startTestHub(t);
  const admin = await makePerson(hub, { admin: true });
  const agent = await signedInAgent(hub, admin);
  t.is((await agent.request(`${hub.url}/admin`)).status, 200);
  const age = (seconds: number) =>
    hub.db('oidc_models').where({ model: 'Session', account_id: admin.id }).update({ payload: hub.db.raw(`jsonb_set(payload, '{loginTs}', to_jsonb(?::bigint))`, [Math.floor(Date.now() / 1000) - seconds]) });
  await age(901);
  const stale = await agent.request(`${hub.url}/admin/users`);
  t.is(stale.status, 302);
  t.regex(stale.headers.get('location')!, /^\/account\/signin\?return_to=%2Fadmin%2Fusers&max_age=900$/);

  await hub.db('totp_factors').insert({ user_id: admin.id, secret_sealed: 'not-used-here', confirmed_at: new Date() });
  await age(30);
  const justSignedIn = await agent.request(`${hub.url}/admin`);
  t.is(justSignedIn.status, 403);
  t.regex(await justSignedIn.text(), /second factor/);
  await age(120);
  const stepUp = await agent.request(`${hub.url}/admin`);
  t.is(stepUp.status, 302);
  t.regex(stepUp.headers.get('location')!, /acr_values=urn%3Auniqverse%3Amfa/);
  t.regex(stepUp.headers.get('location')!, /max_age=0/);
  await hub.db('oidc_models').where({ model: 'Session', account_id: admin.id }).update({ payload: hub.db.raw(`jsonb_set(payload, '{amr}', '["pwd","otp"]'::jsonb)`) });
  t.is((await agent.request(`${hub.url}/admin`)).status, 200);
});

test.serial('services: register (errors next to the field), add a client with its secret shown once, edit redirect URIs in place, suspend and activate', async (t) => {
  const { hub, page } = await signedInBrowser(t, { admin: true });
  await page.goto(`${hub.url}/admin/services`);
  await assertAccessible(t, page);
  await page.getByLabel('Slug').fill('Not A Slug!');
  await page.getByLabel('Name', { exact: true }).fill('VEZEPyChess');
  await page.getByRole('button', { name: 'Register service' }).click();
  await page.locator('#f-slug-error').waitFor();
  t.regex((await page.locator('#f-slug-error').textContent())!, /lower-case letters/);
  t.is(await page.getByLabel('Name', { exact: true }).inputValue(), 'VEZEPyChess', 'what was typed stays');
  await page.getByLabel('Slug').fill('vezepychess');
  await page.getByLabel('Address').fill('https://chess.veze.test');
  await page.getByRole('button', { name: 'Register service' }).click();
  await page.waitForURL(`${hub.url}/admin/services/vezepychess?notice=registered`);
  t.is(await page.getByRole('heading', { level: 1 }).textContent(), 'VEZEPyChess');
  await assertAccessible(t, page);

  await page.getByLabel('Kind of app').selectOption('web');
  await page.locator('#client-redirect-uris').fill('https://chess.veze.test/callback');
  await page.getByRole('button', { name: 'Add client' }).click();
  await page.getByRole('heading', { name: 'Client registered' }).waitFor();
  const secret = (await page.locator('#client-secret').textContent())!;
  const clientId = (await page.locator('#client-id').textContent())!;
  t.true(secret.length >= 40);
  await assertAccessible(t, page);
  await page.goto(`${hub.url}/admin/services/vezepychess`);
  t.false((await page.content()).includes(secret), 'the secret is never shown again');

  const card = page.locator(`#client-${clientId}`);
  await card.getByLabel('Redirect URIs').fill('not a uri');
  await card.getByRole('button', { name: /Save redirect URIs/ }).click();
  await page.locator(`#uris-${clientId}-error`).waitFor();
  t.regex((await page.locator(`#uris-${clientId}-error`).textContent())!, /absolute URI|redirect/i);
  await page.locator(`#client-${clientId}`).getByLabel('Redirect URIs').fill('https://chess.veze.test/callback\nhttps://chess.veze.test/other');
  await page.locator(`#client-${clientId}`).getByRole('button', { name: /Save redirect URIs/ }).click();
  await page.getByText('Redirect URIs saved.').waitFor();
  const stored = await hub.db('clients').where({ client_id: clientId }).first();
  t.deepEqual(stored.metadata.redirect_uris, ['https://chess.veze.test/callback', 'https://chess.veze.test/other']);

  await page.getByRole('button', { name: 'Suspend service' }).click();
  t.is(await page.getByRole('heading', { level: 1 }).textContent(), 'Suspend VEZEPyChess?');
  await page.getByRole('button', { name: 'Suspend', exact: true }).click();
  await page.waitForURL(/notice=suspended/);
  t.is((await hub.db('services').where({ slug: 'vezepychess' }).first()).status, 'suspended');
  await page.getByRole('button', { name: 'Activate service' }).click();
  await page.getByRole('button', { name: 'Activate', exact: true }).click();
  await page.waitForURL(/notice=activated/);
  t.is((await hub.db('services').where({ slug: 'vezepychess' }).first()).status, 'active');
  t.truthy(await hub.db('outbox').where({ type: 'service.status_changed', service: 'vezepychess' }).first());
});

test.serial('users: search in place, page through, grant a tier (errors next to the field), disable and enable again, end sessions', async (t) => {
  const { hub, page, person: admin } = await signedInBrowser(t, { admin: true });
  for (let i = 0; i < 21; i++) await hub.db('users').insert({ email: `member-${String(i).padStart(2, '0')}@example.test`, name: `Member ${i}`, password_hash: null, email_verified: true });
  const person = await makePerson(hub, { name: 'Hedy Lamarr' });
  await makeService(hub, 'vezepygame');
  await serviceSession(hub, person, 'vezepygame', userAgents.playStation);
  await page.goto(`${hub.url}/admin/users`);
  t.is(await page.locator('#user-table tbody tr').count(), 20);
  await assertAccessible(t, page);
  await page.getByRole('link', { name: /Next/ }).click();
  await page.waitForURL(/page=2/);
  t.is(await page.locator('#user-table tbody tr').count(), 3);
  await page.getByLabel('Search by name or email').fill('hedy');
  await page.waitForURL(/q=hedy/);
  await page.locator('#user-table tbody tr', { hasText: 'Hedy Lamarr' }).waitFor();
  t.is(await page.locator('#user-table tbody tr').count(), 1);
  await page.getByRole('link', { name: 'Hedy Lamarr' }).click();
  t.is(await page.getByRole('heading', { level: 1 }).textContent(), 'Hedy Lamarr');
  t.regex((await page.locator('section', { hasText: 'Sessions (1)' }).textContent())!, /PlayStation 5/);
  await assertAccessible(t, page);

  await page.getByLabel('Tier').fill('Not a tier');
  await page.getByRole('button', { name: 'Save tier' }).click();
  await page.locator('#f-tier-error').waitFor();
  t.regex((await page.locator('#f-tier-error').textContent())!, /lower-case tier/);
  await page.getByLabel('Tier').fill('pro');
  await page.getByRole('button', { name: 'Save tier' }).click();
  await page.getByText('The entitlement is saved.').waitFor();
  t.regex((await page.locator('#entitlements tbody').textContent())!, /VEZEPYGAME\s*pro/);
  t.is((await hub.db('entitlements').where({ user_id: person.id }).first()).tier, 'pro');

  await page.getByRole('button', { name: 'Disable account' }).click();
  t.is(await page.getByRole('heading', { level: 1 }).textContent(), 'Disable Hedy Lamarr?');
  await page.getByRole('button', { name: 'Disable account' }).click();
  await page.waitForURL(/notice=disabled/);
  t.truthy((await hub.db('users').where({ id: person.id }).first()).disabled_at);
  t.falsy(await hub.db('oidc_models').where({ model: 'Session', account_id: person.id }).first());
  await page.getByRole('button', { name: 'Enable account' }).click();
  await page.getByRole('button', { name: 'Enable account' }).click();
  await page.waitForURL(/notice=enabled/);
  t.is((await hub.db('users').where({ id: person.id }).first()).disabled_at, null);

  await serviceSession(hub, person, 'vezepygame', userAgents.iPhone);
  await page.reload();
  await page.getByRole('button', { name: 'End all sessions' }).click();
  await page.getByRole('button', { name: 'End sessions' }).click();
  await page.waitForURL(/notice=sessions-ended/);
  t.falsy(await hub.db('oidc_models').where({ model: 'Session', account_id: person.id }).first());
  // An admin cannot lock themself out.
  await page.goto(`${hub.url}/admin/users/${admin.id}`);
  t.is(await page.getByRole('button', { name: 'Disable account' }).count(), 0);
});

test.serial('audit log: browse, filter, verify the chain in place; keys: rotate after asking; system: version, database, Redis, relay lag', async (t) => {
  const { hub, page, person } = await signedInBrowser(t, { admin: true });
  await makeService(hub, 'vezepygame');
  await grant(hub, person.email, 'vezepygame', 'pro');
  await serviceSession(hub, person, 'vezepygame', userAgents.playStation);
  await page.goto(`${hub.url}/account/sessions`);
  await page.locator('.list-item', { hasText: 'PlayStation 5' }).getByRole('button', { name: /Sign out/ }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Sign out' }).click();
  await page.getByText('That session is signed out.').waitFor();

  await page.goto(`${hub.url}/admin/audit`);
  t.true((await page.locator('#audit-table tbody tr').count()) >= 1);
  await assertAccessible(t, page);
  await page.getByLabel('Action starts with').fill('session.');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForURL(/action=session/);
  const actions = await page.locator('#audit-table tbody th code').allTextContents();
  t.true(actions.length >= 1);
  t.true(actions.every((a) => a.startsWith('session.')));
  await page.getByRole('button', { name: 'Verify the chain' }).click();
  await page.locator('#verify-result .alert-ok').waitFor();
  t.regex((await page.locator('#verify-result').textContent())!, /The chain is intact: \d+ entries checked/);

  await page.goto(`${hub.url}/admin/keys`);
  t.is(await page.locator('tbody tr').count(), 3);
  await assertAccessible(t, page);
  await page.getByRole('button', { name: 'Rotate keys' }).click();
  t.is(await page.getByRole('heading', { level: 1 }).textContent(), 'Rotate the signing keys?');
  await page.getByRole('button', { name: 'Rotate keys' }).click();
  await page.waitForURL(/notice=rotated/);
  t.is(await page.locator('tbody tr').count(), 6);
  t.is(await page.locator('tbody .badge', { hasText: 'pending' }).count(), 3);

  await page.goto(`${hub.url}/admin/system`);
  const system = (await page.locator('.kv').textContent())!;
  t.regex(system, /UniQVerse 0\.\d+\.\d+/);
  t.regex(system, process.env.TEST_DATABASE_URL ? /PostgreSQL server/ : /PGlite/);
  t.regex(system, process.env.TEST_REDIS_URL ? /Redis\s*Yes/ : /Redis\s*No/);
  t.regex(system, /Event relay lag\s*[\d.]+ s/);
  await assertAccessible(t, page);
  await page.goto(`${hub.url}/admin`);
  await assertAccessible(t, page);
});
