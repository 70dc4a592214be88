import test from 'ava';
import * as jose from 'jose';
import * as oidc from 'openid-client';
import { relyingParty } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { cliWorld, runCli, runJson, withWorldDatabase } from '../helpers/cli.ts';
import { verifyPasswordSignIn } from '../../src/identity/users.ts';
import type { SeedResult } from '../../src/cli/seed.ts';

const slugs = ['vezepyweb', 'vezepygame', 'vezepycgrow', 'vezepysports', 'vezepyemail'];

test('seed registers the five VEZE services, their web clients and a demo account, and running it again changes nothing', async (t) => {
  t.timeout(240_000);
  const world = await cliWorld(t);

  const first = await runJson<SeedResult>(t, world, ['seed']);
  t.deepEqual(first.services.map((s) => s.slug), slugs);
  t.deepEqual(first.services.map((s) => s.name), ['VEZEPyWeb', 'VEZEPyGame', 'VEZEPyCGrow', 'VEZEPySports', 'VEZEPyEmail']);
  t.true(first.services.every((s) => s.created && s.first_party && s.resource === `urn:veze:service:${s.slug}`));
  t.deepEqual(
    first.services.filter((s) => s.default_tier === 'basic').map((s) => s.slug),
    ['vezepygame', 'vezepycgrow', 'vezepyemail'],
  );
  t.true(first.clients.every((c) => c.created && (c.client_secret?.length ?? 0) >= 32 && /^http:\/\/localhost:\d+\/callback$/.test(c.redirect_uri)));
  t.is(new Set(first.clients.map((c) => c.redirect_uri)).size, 5);
  t.like(first.demo, { email: 'demo@veze.local', name: 'Demo Person', created: true });
  t.true((first.demo.password?.length ?? 0) >= 12);
  t.deepEqual(first.entitlements, [
    { service: 'vezepygame', tier: 'basic', change: 'granted' },
    { service: 'vezepycgrow', tier: 'basic', change: 'granted' },
    { service: 'vezepyemail', tier: 'basic', change: 'granted' },
  ]);

  // Again, as people read it: everything existed, and no secret or password is printed a second time.
  const second = await runCli(world, ['seed']);
  t.is(second.code, 0, second.stderr);
  t.is(second.stdout.match(/existed/g)?.length, 11, second.stdout);
  for (const client of first.clients) {
    t.true(second.stdout.includes(client.client_id));
    t.false(second.stdout.includes(client.client_secret!));
  }
  t.false(second.stdout.includes(first.demo.password!));
  t.regex(second.stdout, /Demo account: demo@veze\.local \(Demo Person\), existed/);

  await withWorldDatabase(world, async (db) => {
    const count = async (table: string) => Number((await db(table).count({ n: '*' }).first())?.n);
    t.is(await count('services'), 5);
    // Each seed service is behind the gateway at its own address.
    t.deepEqual((await db('services').orderBy('slug').select('url', 'upstream_url')).filter((s) => s.url !== s.upstream_url || !s.upstream_url), []);
    // Each VEZE service is asked at <its url>/health.
    t.true((await db('services').select('url', 'health_url')).every((s: { url: string; health_url: string }) => s.health_url === `${s.url}/health`));
    t.is(await count('clients'), 5);
    t.is(await count('users'), 1);
    t.is(await count('entitlements'), 3);
  });

  // A hub on that database (same master secret) honours what the seed made.
  const hub = await startTestHub(t, { database: world.database, secret: world.secret });
  t.true((await verifyPasswordSignIn(hub.db, hub.hasher, 'demo@veze.local', first.demo.password!)).ok);
  const game = first.clients.find((c) => c.service === 'vezepygame')!;
  const rp = await relyingParty(hub, { client_id: game.client_id, client_secret: game.client_secret! });
  const tokens = await oidc.clientCredentialsGrant(rp, { resource: 'urn:veze:service:vezepygame', scope: 'read' });
  const { payload } = await jose.jwtVerify(tokens.access_token, jose.createRemoteJWKSet(new URL(`${hub.url}/jwks`)), {
    issuer: hub.url,
    audience: 'urn:veze:service:vezepygame',
  });
  t.is(payload.client_id, game.client_id);
});
