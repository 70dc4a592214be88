import test from 'ava';
import { migrations } from '../../migrations/index.ts';
import { createSecrets } from '../../src/platform/crypto/hub-secrets.ts';
import { PasswordHasher } from '../../src/identity/password-hashing.ts';
import { verifyPasswordSignIn } from '../../src/identity/users.ts';
import { loadClientMetadata } from '../../src/catalog/clients.ts';
import { cliWorld, runCli, runJson, withWorldDatabase } from '../helpers/cli.ts';

test('migrate, users, services, clients and entitlements each print one JSON object and change the database', async (t) => {
  t.timeout(300_000);
  const world = await cliWorld(t, { fresh: true });

  const first = await runJson<{ ran: string[] }>(t, world, ['migrate']);
  t.deepEqual(first.ran, migrations.map(([name]) => name));
  t.deepEqual(await runJson(t, world, ['migrate']), { ran: [] });

  const user = await runJson(t, world, ['users', 'create', '--email', 'Ada@Example.test', '--password', 'correct horse battery staple', '--name', 'Ada Lovelace', '--admin']);
  t.like(user, { email: 'ada@example.test', name: 'Ada Lovelace', is_admin: true, email_verified: true });
  t.regex(String(user.id), /^[0-9a-f-]{36}$/);

  const service = await runJson(t, world, ['services', 'create', '--slug', 'vezepychat', '--name', 'VEZEPyChat', '--url', 'http://localhost:8006', '--upstream', 'http://127.0.0.1:8006', '--health-url', 'http://localhost:8006/healthz', '--first-party', '--default-tier', 'basic']);
  t.deepEqual(service, {
    slug: 'vezepychat',
    name: 'VEZEPyChat',
    url: 'http://localhost:8006',
    resource: 'urn:veze:service:vezepychat',
    first_party: true,
    default_tier: 'basic',
    status: 'active',
    upstream_url: 'http://127.0.0.1:8006',
    health_url: 'http://localhost:8006/healthz',
  });
  t.deepEqual(await runJson(t, world, ['services', 'update', '--slug', 'vezepychat', '--health-url', 'none']), { slug: 'vezepychat', health_url: null, health: 'unknown' });
  t.deepEqual(await runJson(t, world, ['services', 'update', '--slug', 'vezepychat', '--health-url', 'http://localhost:8006/health']), { slug: 'vezepychat', health_url: 'http://localhost:8006/health', health: 'unknown' });
  const refused = await runCli(world, ['services', 'update', '--slug', 'vezepychat', '--health-url', 'gopher://x']);
  t.not(refused.code, 0);
  t.regex(refused.stderr, /http\(s\) URL/);

  const web = await runJson<{ client_id: string; client_secret?: string; type: string; redirect_uris: string[] }>(t, world, [
    'clients', 'create', '--service', 'vezepychat', '--type', 'web', '--name', 'Chat web',
    '--redirect-uri', 'http://localhost:8006/callback', '--redirect-uri', 'http://127.0.0.1:8006/callback',
    '--post-logout-redirect-uri', 'http://localhost:8006/',
  ]);
  t.regex(web.client_id, /^vezepychat-web-/);
  t.true((web.client_secret?.length ?? 0) >= 32);
  t.deepEqual(web.redirect_uris, ['http://localhost:8006/callback', 'http://127.0.0.1:8006/callback']);

  const native = await runJson<{ client_id: string; client_secret?: string }>(t, world, ['clients', 'create', '--service', 'vezepychat', '--type', 'native', '--redirect-uri', 'com.veze.chat:/callback']);
  t.is(native.client_secret, undefined);
  const device = await runJson<{ client_id: string; client_secret?: string; redirect_uris: string[] }>(t, world, ['clients', 'create', '--service', 'vezepychat', '--type', 'device']);
  t.is(device.client_secret, undefined);
  t.deepEqual(device.redirect_uris, []);

  const granted = await runJson(t, world, ['entitlements', 'grant', '--email', 'ada@example.test', '--service', 'vezepychat', '--tier', 'pro', '--expires', '2031-01-01T00:00:00+02:00']);
  t.deepEqual(granted, { email: 'ada@example.test', service: 'vezepychat', tier: 'pro', expires_at: '2030-12-31T22:00:00.000Z', change: 'granted' });
  const again = await runJson(t, world, ['entitlements', 'grant', '--email', 'ada@example.test', '--service', 'vezepychat', '--tier', 'pro', '--expires', '2030-12-31T22:00:00Z']);
  t.is(again.change, 'unchanged');

  await withWorldDatabase(world, async (db) => {
    // The password works for sign-in.
    const signIn = await verifyPasswordSignIn(db, new PasswordHasher(), 'ada@example.test', 'correct horse battery staple');
    t.true(signIn.ok);
    // The hub reads the clients back as the provider will load them, the web secret unsealed with the same master secret.
    const secrets = createSecrets(world.secret);
    const webMetadata = await loadClientMetadata(db, secrets.clients, web.client_id);
    t.like(webMetadata, {
      client_secret: web.client_secret,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code', 'refresh_token', 'client_credentials', 'urn:ietf:params:oauth:grant-type:token-exchange'],
      post_logout_redirect_uris: ['http://localhost:8006/'],
      client_name: 'Chat web',
      'urn:uniqverse:service': 'vezepychat',
      'urn:uniqverse:first_party': true,
    });
    t.like(await loadClientMetadata(db, secrets.clients, native.client_id), { token_endpoint_auth_method: 'none', application_type: 'native' });
    t.like(await loadClientMetadata(db, secrets.clients, device.client_id), { grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'] });
    const row = await db('entitlements as e').join('services as s', 's.id', 'e.service_id').where('s.slug', 'vezepychat').first('e.tier', 'e.expires_at');
    t.is(row.tier, 'pro');
    t.is(new Date(row.expires_at).toISOString(), '2030-12-31T22:00:00.000Z');
  });
});
