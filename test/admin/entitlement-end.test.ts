import test from 'ava';
import { grant, makePerson, makeService } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { csrfTokenOf, signedInAgent } from '../portal/portal-helpers.ts';

const form = (fields: Record<string, string>) => ({ method: 'POST', body: new URLSearchParams(fields), headers: { 'content-type': 'application/x-www-form-urlencoded' } });

test('an administrator ends a person\'s tier from their page: without JS (redirect) or with htmx (the section), audited as the admin', async (t) => {
  const hub = await startTestHub(t);
  const admin = await makePerson(hub, { admin: true });
  const person = await makePerson(hub, { name: 'Hedy Lamarr' });
  await makeService(hub, 'vezepygame');
  await makeService(hub, 'vezepyemail');
  await grant(hub, person.email, 'vezepygame', 'pro');
  await grant(hub, person.email, 'vezepyemail', 'basic');
  const agent = await signedInAgent(hub, admin);
  const csrf = await csrfTokenOf(agent, hub);
  const endUrl = (service: string) => `${hub.url}/admin/users/${person.id}/entitlements/${service}/end`;

  const page = await (await agent.request(`${hub.url}/admin/users/${person.id}`)).text();
  t.regex(page, new RegExp(`<form method="post" action="/admin/users/${person.id}/entitlements/vezepygame/end"`));
  t.regex(page, /End tier<span class="visually-hidden"> pro at VEZEPYGAME<\/span>/);

  // No CSRF token: refused, nothing ends.
  t.is((await agent.request(endUrl('vezepygame'), form({}))).status, 403);
  t.truthy(await hub.db('entitlements as e').join('services as s', 's.id', 'e.service_id').where({ 'e.user_id': person.id, 's.slug': 'vezepygame' }).first());

  // A plain form post (no JavaScript): back to the page with a notice.
  const plain = await agent.request(endUrl('vezepygame'), form({ _csrf: csrf }));
  t.is(plain.status, 303);
  const back = plain.headers.get('location')!;
  t.regex(back, new RegExp(`^/admin/users/${person.id}\\?notice=ended$`));
  const after = await (await agent.request(`${hub.url}${back}`)).text();
  t.regex(after, /The tier is ended\./);
  t.notRegex(after, /End tier<span class="visually-hidden"> pro at VEZEPYGAME/);
  const revoked = await hub.db('outbox').where({ user_id: person.id, type: 'entitlement.revoked' }).select('service', 'data');
  t.deepEqual(revoked, [{ service: 'vezepygame', data: { email: person.email, name: 'Hedy Lamarr', service: 'vezepygame', tier: 'pro', expires_at: null } }]);
  const audit = await hub.db('audit_log').where({ action: 'entitlement.revoked', subject_id: person.id }).select('actor_id', 'data');
  t.is(audit.length, 1);
  t.is(audit[0].actor_id, admin.id);
  t.like(audit[0].data, { service: 'vezepygame', tier: 'pro' });

  // htmx: the entitlements section comes back in place, with the notice.
  const fragment = await agent.request(endUrl('vezepyemail'), { ...form({ _csrf: csrf }), headers: { 'content-type': 'application/x-www-form-urlencoded', 'hx-request': 'true' } });
  t.is(fragment.status, 200);
  const html = await fragment.text();
  t.regex(html, /^\s*(<[^>]+>\s*)*<section class="panel" id="entitlements"/);
  t.notRegex(html, /<html/);
  t.regex(html, /The tier is ended\./);
  t.regex(html, /No entitlements\./);

  // Ending what is not there (already ended, or a service that does not exist): a clear 404.
  const again = await agent.request(endUrl('vezepyemail'), form({ _csrf: csrf }));
  t.is(again.status, 404);
  t.regex(await again.text(), /holds no tier at vezepyemail/);
  t.is((await agent.request(endUrl('nope'), form({ _csrf: csrf }))).status, 404);
  t.is(await hub.db('entitlements').where({ user_id: person.id }).first(), undefined);
});

test('a person who is not an administrator cannot end anyone\'s tier', async (t) => {
  const hub = await startTestHub(t);
  const person = await makePerson(hub);
  await makeService(hub, 'vezepygame');
  await grant(hub, person.email, 'vezepygame', 'pro');
  const agent = await signedInAgent(hub, person);
  const csrf = await csrfTokenOf(agent, hub);
  const response = await agent.request(`${hub.url}/admin/users/${person.id}/entitlements/vezepygame/end`, form({ _csrf: csrf }));
  t.is(response.status, 403);
  t.is((await hub.db('entitlements').where({ user_id: person.id }).first()).tier, 'pro');
});
