import test from 'ava';
import { makePerson, makeService } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { auditEntriesAfter } from '../helpers/audit.ts';
import { csrfTokenOf, signedInAgent } from '../portal/portal-helpers.ts';

const form = (fields: Record<string, string>) => ({ method: 'POST', body: new URLSearchParams(fields), headers: { 'content-type': 'application/x-www-form-urlencoded' }, redirect: 'manual' as const });

test('the admin console sets a service\'s upstream URL and allows and stops token exchange toward other services, each audited; others may not', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'notes');
  await makeService(hub, 'mail');
  const admin = await signedInAgent(hub, await makePerson(hub, { admin: true }));
  const csrf = await csrfTokenOf(admin, hub);
  const seq = Number((await hub.db('audit_log').max('seq as seq').first())?.seq ?? 0);

  const page = await (await admin.request(`${hub.url}/admin/services/notes`)).text();
  t.regex(page, /Gateway and token exchange/);
  t.regex(page, /<option value="mail">MAIL \(mail\)<\/option>/);

  const bad = await admin.request(`${hub.url}/admin/services/notes/upstream`, form({ _csrf: csrf, upstream: 'ftp://x' }));
  t.is(bad.status, 400);
  t.regex(await bad.text(), /http\(s\) URL/);
  const saved = await admin.request(`${hub.url}/admin/services/notes/upstream`, form({ _csrf: csrf, upstream: 'http://10.0.0.12:8001/api' }));
  t.is(saved.status, 303);
  t.is((await hub.db('services').where({ slug: 'notes' }).first()).upstream_url, 'http://10.0.0.12:8001/api');

  t.is((await admin.request(`${hub.url}/admin/services/notes/exchange/allow`, form({ _csrf: csrf, to: 'mail' }))).status, 303);
  const allowed = await (await admin.request(`${hub.url}/admin/services/notes`)).text();
  t.regex(allowed, /Stop token exchange toward mail/);
  t.regex(await (await admin.request(`${hub.url}/admin/services/mail`)).text(), /href="\/admin\/services\/notes"><code>notes<\/code>/);
  t.is((await admin.request(`${hub.url}/admin/services/notes/exchange/deny`, form({ _csrf: csrf, to: 'mail' }))).status, 303);
  t.notRegex(await (await admin.request(`${hub.url}/admin/services/notes`)).text(), /Stop token exchange toward/);
  t.is((await admin.request(`${hub.url}/admin/services/notes/exchange/allow`, form({ _csrf: csrf, to: 'notes' }))).status, 400);

  const entries = await auditEntriesAfter(hub.db, seq);
  t.deepEqual(entries.map((e) => e.action), ['service.upstream_changed', 'service.exchange_allowed', 'service.exchange_denied']);
  t.truthy(entries.every((e) => e.actor_id));

  const person = await signedInAgent(hub, await makePerson(hub));
  const personCsrf = await csrfTokenOf(person, hub);
  for (const path of ['/admin/services/notes/upstream', '/admin/services/notes/exchange/allow', '/admin/services/notes/exchange/deny']) {
    t.is((await person.request(`${hub.url}${path}`, form({ _csrf: personCsrf, to: 'mail', upstream: 'http://x' }))).status, 403, path);
  }
});
