import test from 'ava';
import { cliWorld, runCli, runJson, withWorldDatabase } from '../helpers/cli.ts';

test('services upstream, allow-exchange and deny-exchange change the service, print one JSON object and are audited as the operator\'s', async (t) => {
  const world = await cliWorld(t);
  await runJson(t, world, ['services', 'create', '--slug', 'notes', '--name', 'Notes']);
  await runJson(t, world, ['services', 'create', '--slug', 'mail', '--name', 'Mail']);

  t.deepEqual(await runJson(t, world, ['services', 'upstream', '--slug', 'notes', '--url', 'http://10.0.0.12:8001/api']), { slug: 'notes', upstream_url: 'http://10.0.0.12:8001/api' });
  t.deepEqual(await runJson(t, world, ['services', 'allow-exchange', 'notes', 'mail']), { from: 'notes', to: 'mail', allowed: true, changed: true });
  t.deepEqual(await runJson(t, world, ['services', 'allow-exchange', 'notes', 'mail']), { from: 'notes', to: 'mail', allowed: true, changed: false });
  await withWorldDatabase(world, async (db) => {
    t.is((await db('services').where({ slug: 'notes' }).first()).upstream_url, 'http://10.0.0.12:8001/api');
    t.is(Number((await db('exchange_pairs').count('* as n').first())?.n), 1);
    const actions = (await db('audit_log').whereIn('action', ['service.upstream_changed', 'service.exchange_allowed']).orderBy('seq').select('action')).map((r) => r.action);
    t.deepEqual(actions, ['service.upstream_changed', 'service.exchange_allowed']);
  });
  t.deepEqual(await runJson(t, world, ['services', 'deny-exchange', 'notes', 'mail']), { from: 'notes', to: 'mail', allowed: false, changed: true });
  t.deepEqual(await runJson(t, world, ['services', 'upstream', '--slug', 'notes', '--none']), { slug: 'notes', upstream_url: null });

  const unknown = await runCli(world, ['services', 'allow-exchange', 'notes', 'nosuch']);
  t.is(unknown.code, 1);
  t.regex(unknown.stderr, /No service with slug "nosuch"/);
  const neither = await runCli(world, ['services', 'upstream', '--slug', 'notes']);
  t.is(neither.code, 2);
  const bad = await runCli(world, ['services', 'upstream', '--slug', 'notes', '--url', 'ftp://x']);
  t.not(bad.code, 0);
  t.regex(bad.stderr, /http\(s\) URL/);
  t.is((await runCli(world, ['services', 'allow-exchange', 'notes'])).code, 2);
});
