import { userInfo } from 'node:os';
import test, { type ExecutionContext } from 'ava';
import type { SeedResult } from '../../src/cli/seed.ts';
import { auditEntriesAfter, type AuditRow } from '../helpers/audit.ts';
import { cliWorld, runCli, runJson, withWorldDatabase, type CliWorld } from '../helpers/cli.ts';

/** The audit entries after `seq`, in order. */
const entriesAfter = (world: CliWorld, seq: number): Promise<AuditRow[]> => withWorldDatabase(world, (db) => auditEntriesAfter(db, seq));

/**
 * Runs commands with --json and hands back what each added to the audit log, checking every new
 * entry: the operator at the shell (no actor id, no IP, via cli and the OS user), and none of the
 * secrets seen so far (passwords given, secrets printed) anywhere in it.
 */
function auditedCli(t: ExecutionContext, world: CliWorld, secrets: string[]) {
  let seen = 0;
  const osUser = userInfo().username;
  return async <T = Record<string, unknown>>(args: string[], secretsOf: (output: T) => Array<string | undefined> = () => []): Promise<{ output: T; entries: AuditRow[] }> => {
    const output = await runJson<T>(t, world, args);
    secrets.push(...secretsOf(output).filter((s): s is string => Boolean(s)));
    const entries = await entriesAfter(world, seen);
    seen = entries.at(-1)?.seq ?? seen;
    for (const entry of entries) {
      t.is(entry.actor_id, null, `${entry.action}: the operator at the shell has no account`);
      t.is(entry.ip, null);
      t.like(entry.data, { via: 'cli', os_user: osUser }, `${entry.action}: says it came through the CLI, and from whom`);
      const text = JSON.stringify(entry);
      for (const secret of secrets) t.false(text.includes(secret), `${entry.action}: holds a secret`);
    }
    return { output, entries };
  };
}

const actions = (entries: AuditRow[]) => entries.map((e) => e.action);

test('every state-changing command leaves exactly one audit entry of the operator, with no secret in it, and the chain still verifies', async (t) => {
  t.timeout(420_000);
  const world = await cliWorld(t);
  const password = 'correct horse battery staple';
  const secrets = [password];
  const cli = auditedCli(t, world, secrets);

  const user = await cli<{ id: string }>(['users', 'create', '--email', 'ada@example.test', '--password', password, '--name', 'Ada Lovelace', '--admin']);
  t.deepEqual(actions(user.entries), ['user.created']);
  t.is(user.entries[0]!.subject_id, user.output.id);
  t.like(user.entries[0]!.data, { email: 'ada@example.test', is_admin: true, email_verified: true });

  const service = await cli(['services', 'create', '--slug', 'vezepychat', '--name', 'VEZEPyChat', '--first-party', '--default-tier', 'basic']);
  t.deepEqual(actions(service.entries), ['service.registered']);
  t.like(service.entries[0]!.data, { slug: 'vezepychat', first_party: true, default_tier: 'basic' });

  const health = await cli(['services', 'update', '--slug', 'vezepychat', '--health-url', 'http://localhost:8006/health']);
  t.deepEqual(actions(health.entries), ['service.health_url_changed']);
  t.like(health.entries[0]!.data, { slug: 'vezepychat', health_url: 'http://localhost:8006/health', previous_health_url: null, via: 'cli' });

  const web = await cli<{ client_id: string; client_secret?: string }>(
    ['clients', 'create', '--service', 'vezepychat', '--type', 'web', '--redirect-uri', 'http://localhost:8006/callback'],
    (out) => [out.client_secret],
  );
  t.true((web.output.client_secret?.length ?? 0) >= 32);
  t.deepEqual(actions(web.entries), ['client.registered']);
  t.like(web.entries[0]!.data, { service: 'vezepychat', client_id: web.output.client_id, type: 'web', redirect_uris: ['http://localhost:8006/callback'] });

  const granted = await cli(['entitlements', 'grant', '--email', 'ada@example.test', '--service', 'vezepychat', '--tier', 'pro']);
  t.deepEqual(actions(granted.entries), ['entitlement.granted']);
  t.is(granted.entries[0]!.subject_id, user.output.id);
  t.like(granted.entries[0]!.data, { service: 'vezepychat', tier: 'pro', expires_at: null });
  // The same names the admin console writes: granting again confirms, another tier changes.
  t.deepEqual(actions((await cli(['entitlements', 'grant', '--email', 'ada@example.test', '--service', 'vezepychat', '--tier', 'pro'])).entries), ['entitlement.confirmed']);
  t.deepEqual(actions((await cli(['entitlements', 'grant', '--email', 'ada@example.test', '--service', 'vezepychat', '--tier', 'max'])).entries), ['entitlement.changed']);

  const rotated = await cli<{ keys: Array<{ kid: string; alg: string }> }>(['keys', 'rotate', '--activate-in', '5']);
  t.deepEqual(actions(rotated.entries), ['keys.rotated']);
  t.deepEqual((rotated.entries[0]!.data.keys as Array<{ kid: string }>).map((k) => k.kid), rotated.output.keys.map((k) => k.kid));
  t.false(JSON.stringify(rotated.entries[0]).includes('"d"'), 'no private key material');

  // A receiver's URL may carry its own token in the path or query: only its origin is kept.
  const hook = await cli<{ id: string; secret: string }>(
    ['webhooks', 'create', '--service', 'vezepychat', '--url', 'https://hooks.example.test/in/s3cr3t-path-token?key=s3cr3t-query-token', '--events', 'user.*'],
    (out) => [out.secret, 's3cr3t-path-token', 's3cr3t-query-token'],
  );
  t.regex(hook.output.secret, /^whsec_/);
  t.deepEqual(actions(hook.entries), ['webhook.created']);
  t.like(hook.entries[0]!.data, { webhook_id: hook.output.id, service: 'vezepychat', url_origin: 'https://hooks.example.test', events: ['user.*'] });

  const replayed = await cli(['webhooks', 'replay', '--webhook', hook.output.id]);
  t.deepEqual(actions(replayed.entries), ['webhook.replayed']);
  t.like(replayed.entries[0]!.data, { webhook_id: hook.output.id, deliveries: 0 });

  // Reading changes nothing and writes nothing.
  t.deepEqual((await cli(['keys', 'list'])).entries, []);
  t.deepEqual((await cli(['webhooks', 'list'])).entries, []);

  // A command that fails leaves no entry: the entry is written in the change's own transaction.
  const refused = await runCli(world, ['entitlements', 'grant', '--email', 'nobody@example.test', '--service', 'vezepychat', '--tier', 'pro']);
  t.is(refused.code, 1);
  const duplicate = await runCli(world, ['services', 'create', '--slug', 'vezepychat', '--name', 'Again']);
  t.is(duplicate.code, 1);
  t.deepEqual((await cli(['keys', 'list'])).entries, []);

  const verified = await runCli(world, ['audit', 'verify', '--json']);
  t.is(verified.code, 0, verified.stderr);
  const report = JSON.parse(verified.stdout) as { ok: boolean; entries: number };
  t.true(report.ok);
  t.is(report.entries, (await entriesAfter(world, 0)).length);
});

test('seed audits each thing it creates, as the single commands do, and a second run writes nothing', async (t) => {
  t.timeout(300_000);
  const world = await cliWorld(t);
  const cli = auditedCli(t, world, []);

  const first = await cli<SeedResult>(['seed'], (out) => [out.demo.password, ...out.clients.map((c) => c.client_secret)]);
  const count = (action: string) => first.entries.filter((e) => e.action === action).length;
  t.is(count('service.registered'), 5);
  t.is(count('client.registered'), 5);
  t.is(count('user.created'), 1);
  t.is(count('entitlement.granted'), 3);
  t.is(count('service.graph_changed'), 3, 'the three seed services that answer fields of /graphql');
  t.is(first.entries.length, 17);

  const again = await cli<SeedResult>(['seed']);
  t.false(again.output.demo.created);
  t.deepEqual(again.entries, []);

  const verified = await runCli(world, ['audit', 'verify']);
  t.is(verified.code, 0, verified.stderr);
  t.regex(verified.stdout, /Audit chain intact: 17 entries/);
});
