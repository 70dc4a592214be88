import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { createWebhook } from '../../src/events/webhooks.ts';
import { grant } from '../helpers/fixtures.ts';
import { scene, signedInTokens } from '../helpers/oidc.ts';
import { python } from '../helpers/processes.ts';
import { eventsSettled, eventually, personToken, webhookReceiver } from '../events/helpers.ts';

function run(command: string, args: string[], env: Record<string, string>, cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('close', (code) => resolve({ code, output }));
  });
}

test('the Python kit (sdk/python) passes its unittests against a real hub: its tokens, a delivery it made, events posted, followed and resumed', async (t) => {
  const s = await scene(t, { slug: 'vezepysports' });
  const receiver = await webhookReceiver();
  t.teardown(() => receiver.close());
  const hook = await createWebhook(s.hub.db, s.hub.events.webhookBox, { service: 'vezepysports', url: receiver.url, events: ['entitlement.*'] });
  await grant(s.hub, s.person.email, 'vezepysports', 'pro');
  const delivery = await eventually(async () => receiver.received[0]);
  const tokens = await signedInTokens(s, { scope: 'openid read', resource: s.service.resource });
  const hubToken = await personToken(s.hub, s.person, 'vezepysports');
  await eventsSettled(s.hub);

  const dir = mkdtempSync(path.join(tmpdir(), 'uq-py-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const deliveryFile = path.join(dir, 'delivery.json');
  writeFileSync(deliveryFile, JSON.stringify({ headers: delivery.headers, body: delivery.body }));

  const { code, output } = await run(python, ['-m', 'unittest', 'discover', '-s', 'tests', '-t', '.', '-v'], {
    UQ_ISSUER: s.hub.url,
    UQ_SERVICE_RESOURCE: s.service.resource,
    UQ_SERVICE_TOKEN: tokens.access_token,
    UQ_ID_TOKEN: tokens.id_token!,
    UQ_PERSON_SUB: s.person.id,
    UQ_HUB_TOKEN: hubToken,
    UQ_CLIENT_ID: s.client.client_id,
    UQ_CLIENT_SECRET: s.client.client_secret!,
    UQ_WEBHOOK_SECRET: hook.secret,
    UQ_WEBHOOK_DELIVERY: deliveryFile,
    PYTHONDONTWRITEBYTECODE: '1',
  }, 'sdk/python');
  t.is(code, 0, output);
  t.regex(output, /Ran (\d+) tests/);
  t.notRegex(output, /skipped/, output);
  t.regex(output, /test_post_follow_and_resume .* ok/);
});
