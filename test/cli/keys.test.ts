import test from 'ava';
import * as jose from 'jose';
import * as oidc from 'openid-client';
import { createSecrets } from '../../src/platform/crypto/hub-secrets.ts';
import { loadKeySet } from '../../src/oidc/signing-keys.ts';
import { makeClient, makeService, relyingParty } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { cliWorld, runJson, withWorldDatabase } from '../helpers/cli.ts';

interface Rotated {
  keys: Array<{ kid: string; alg: string; activates_at: string }>;
  activates_at: string;
  activate_in_seconds: number;
}

interface Listed {
  keys: Array<{ kid: string; alg: string; state: string; activates_at: string; expires_at: string | null }>;
}

/** The kid each alg signs with: the provider signs with the first key of an alg in the set. */
function signers(jwks: { keys: object[] }): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of jwks.keys as Array<{ kid: string; alg: string }>) out[key.alg] ??= key.kid;
  return out;
}

test('keys rotate publishes the next keys at once and signs with them only after 2 x KEY_REFRESH_SECONDS', async (t) => {
  t.timeout(240_000);
  const world = await cliWorld(t, { env: { KEY_REFRESH_SECONDS: '45' } });

  const before = Date.now();
  const rotated = await runJson<Rotated>(t, world, ['keys', 'rotate']);
  const after = Date.now();
  t.is(rotated.activate_in_seconds, 90);
  t.deepEqual(rotated.keys.map((k) => k.alg).sort(), ['ES256', 'EdDSA', 'RS256']);
  const activatesAt = new Date(rotated.activates_at);
  t.true(activatesAt.getTime() >= before + 90_000 && activatesAt.getTime() <= after + 90_000, rotated.activates_at);
  t.true(rotated.keys.every((k) => k.activates_at === rotated.activates_at));
  const newKids = rotated.keys.map((k) => k.kid);

  // On a database no hub had started on, the current keys were made first, so something signs meanwhile.
  const listed = await runJson<Listed>(t, world, ['keys', 'list']);
  t.is(listed.keys.length, 6);
  t.deepEqual(listed.keys.filter((k) => k.state === 'pending').map((k) => k.kid).sort(), [...newKids].sort());
  const current = listed.keys.filter((k) => k.state === 'signing');
  t.is(current.length, 3);
  // The old keys stay published a day past the new ones' activation, for the tokens they signed.
  t.true(current.every((k) => new Date(k.expires_at!).getTime() === activatesAt.getTime() + 24 * 3600_000));

  const box = createSecrets(world.secret).keys;
  await withWorldDatabase(world, async (db) => {
    const now = await loadKeySet(db, box);
    const published = (now.jwks.keys as Array<{ kid?: string }>).map((k) => k.kid);
    for (const kid of newKids) t.true(published.includes(kid), `${kid} is published`);
    t.deepEqual(Object.values(signers(now.jwks)).sort(), current.map((k) => k.kid).sort());
    t.is(now.nextChangeAt?.toISOString(), rotated.activates_at);

    const later = await loadKeySet(db, box, activatesAt);
    t.deepEqual(Object.values(signers(later.jwks)).sort(), [...newKids].sort());
    for (const old of current) t.true((later.jwks.keys as Array<{ kid?: string }>).some((k) => k.kid === old.kid), `${old.kid} still published`);
  });

  // A hub on that database publishes the new keys before they sign.
  const hub = await startTestHub(t, { database: world.database, secret: world.secret, env: { KEY_REFRESH_SECONDS: '45' } });
  const jwks = (await (await fetch(`${hub.url}/jwks`)).json()) as { keys: Array<{ kid: string }> };
  for (const kid of newKids) t.true(jwks.keys.some((k) => k.kid === kid), `hub publishes ${kid}`);
  const service = await makeService(hub, 'vezepygame');
  const client = await makeClient(hub, { service: service.slug });
  const tokens = await oidc.clientCredentialsGrant(await relyingParty(hub, client), { resource: service.resource, scope: 'read' });
  const header = jose.decodeProtectedHeader(tokens.access_token);
  t.is(header.kid, current.find((k) => k.alg === 'ES256')!.kid);
});

test('keys rotate --activate-in sets the delay, and keys list shows each key\'s state', async (t) => {
  t.timeout(240_000);
  const world = await cliWorld(t);
  const rotated = await runJson<Rotated>(t, world, ['keys', 'rotate', '--activate-in', '0']);
  t.is(rotated.activate_in_seconds, 0);
  const listed = await runJson<Listed>(t, world, ['keys', 'list']);
  // Active at once: the new keys sign, the ones they replaced are retiring.
  t.deepEqual(listed.keys.filter((k) => k.state === 'signing').map((k) => k.kid).sort(), rotated.keys.map((k) => k.kid).sort());
  t.is(listed.keys.filter((k) => k.state === 'retiring').length, 3);
});
