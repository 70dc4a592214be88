import { Writable } from 'node:stream';
import test from 'ava';
import { createWebhook, listDeliveries } from '../../src/events/webhooks.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { grant, makePerson, makeService } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';

// What the hub logs goes to log shippers and dashboards read by many: no codes, links or
// receiver tokens in it. Each test reads the hub's real log (pino, at info) as JSON lines.

function capturedLog() {
  const lines: Array<Record<string, unknown>> = [];
  let raw = '';
  const stream = new Writable({
    write(chunk, _encoding, done) {
      raw += String(chunk);
      for (const line of String(chunk).split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger('info', stream), lines, text: () => raw };
}

test('mail written to the development mailbox is logged by kind, never by subject or body (which carry codes)', async (t) => {
  const log = capturedLog();
  const hub = await startTestHub(t, { logger: log.logger });
  hub.mailer.post(hub.mail.verifyEmail({ to: 'someone@example.test', name: 'Someone', link: 'https://hub.example.test/verify-email?token=LINKTOKEN987', code: '314159', hours: 24 }));
  hub.mailer.post(hub.mail.changeEmail({ to: 'new@example.test', name: 'Someone', link: 'https://hub.example.test/confirm?token=CHANGETOKEN654', code: '271828', minutes: 60 }));
  await hub.mailer.drain();
  for (const secret of ['314159', '271828', 'LINKTOKEN987', 'CHANGETOKEN654', 'Your code is']) t.false(log.text().includes(secret), `${secret} is not in the log`);
  const written = log.lines.filter((l) => l.msg === 'mail written to the development mailbox');
  t.deepEqual(written.map((l) => l.kind), ['verify-email', 'change-email']);
});

test('mail that cannot be sent is logged by kind, never by subject', async (t) => {
  const log = capturedLog();
  // Nothing listens on port 1.
  const hub = await startTestHub(t, { logger: log.logger, env: { SMTP_URL: 'smtp://127.0.0.1:1' } });
  hub.mailer.post(hub.mail.verifyEmail({ to: 'someone@example.test', name: 'Someone', link: 'https://hub.example.test/verify-email?token=LINKTOKEN987', code: '161803', hours: 24 }));
  await hub.mailer.drain();
  const failed = log.lines.find((l) => l.msg === 'mail could not be sent');
  t.truthy(failed);
  t.false(log.text().includes('161803'));
  t.false(log.text().includes('LINKTOKEN987'));
  t.is(failed!.kind, 'verify-email');
});

test('a failed webhook delivery is logged with the webhook id and the URL\'s origin, never its path or query', async (t) => {
  const log = capturedLog();
  const hub = await startTestHub(t, { logger: log.logger });
  await makeService(hub, 'vezepygame');
  // Nothing listens on port 1: every try fails at once. The path and query are the receiver's own secrets.
  const hook = await createWebhook(hub.db, hub.events.webhookBox, { service: 'vezepygame', url: 'http://127.0.0.1:1/hooks/PATHTOKEN123?key=QUERYTOKEN456' });
  const person = await makePerson(hub);
  await grant(hub, person.email, 'vezepygame', 'basic');
  const deadline = Date.now() + 20_000;
  while (!log.lines.some((l) => l.msg === 'webhook delivery failed; will retry') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  const failed = log.lines.find((l) => l.msg === 'webhook delivery failed; will retry');
  t.truthy(failed, 'the failure is logged');
  t.false(log.text().includes('PATHTOKEN123'));
  t.false(log.text().includes('QUERYTOKEN456'));
  t.is(failed!.webhook, hook.id);
  t.is(failed!.origin, 'http://127.0.0.1:1');
  t.true((await listDeliveries(hub.db, { webhook: hook.id })).items.length > 0);
});
