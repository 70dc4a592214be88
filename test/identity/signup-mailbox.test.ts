import { readdirSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { eventually, authorize, scene } from '../helpers/oidc.ts';
import { UserAgent } from '../helpers/user-agent.ts';

test('without SMTP_URL, mail is written under DATA_DIR/mail and listed at /dev/mailbox; a new browser gets a notice', async (t) => {
  const s = await scene(t);
  const { hub, person } = s;
  await authorize(s, {}, new UserAgent()); // the account's first browser: no notice
  await authorize(s, {}, new UserAgent()); // a second one: "New sign-in"
  await fetch(`${hub.url}/reset`, { method: 'POST', body: new URLSearchParams({ email: person.email }) });
  await hub.mailer.drain();
  const files = readdirSync(path.join(hub.config.dataDir, 'mail'));
  t.is(files.filter((f) => f.endsWith('.eml')).length, 2);

  const list = await (await fetch(`${hub.url}/dev/mailbox`)).text();
  t.regex(list, /Reset your UniQVerse password/);
  t.regex(list, /New sign-in to your UniQVerse account/);
  const id = /href="\/dev\/mailbox\/([\w-]+)">Reset your/.exec(list)![1];
  const message = await (await fetch(`${hub.url}/dev/mailbox/${id}`)).text();
  t.regex(message, new RegExp(`href="${hub.url}/reset/[\\w-]+"`));
  // Its HTML part, as a mail client shows it: sandboxed, nothing in it may run or load.
  t.regex(message, new RegExp(`href="/dev/mailbox/${id}/html"`));
  const html = await fetch(`${hub.url}/dev/mailbox/${id}/html`);
  t.is(html.status, 200);
  t.regex(html.headers.get('content-security-policy')!, /^sandbox; default-src 'none'/);
  t.regex(await html.text(), new RegExp(`<a href="${hub.url}/reset/[\\w-]+"[^>]*>Choose a new password</a>`));
  t.is((await fetch(`${hub.url}/dev/mailbox/nothing-here`)).status, 404);
  t.is((await fetch(`${hub.url}/dev/mailbox/nothing-here/html`)).status, 404);
  await eventually(async () => ((await hub.db('known_devices').where({ user_id: person.id })).length === 2 ? true : undefined));
});

test('the development mailbox does not exist in production', async (t) => {
  const { hub } = await scene(t, { hub: { env: { NODE_ENV: 'production' } } });
  t.is((await fetch(`${hub.url}/dev/mailbox`)).status, 404);
});
