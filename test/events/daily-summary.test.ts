import test from 'ava';
import type { Hub } from '../../src/app/start.ts';
import { optOutKey, sendDueSummaries, type DailySummaryDeps } from '../../src/events/daily-summary.ts';
import { appendEvent } from '../../src/outbox/outbox.ts';
import { exportPersonalData } from '../../src/privacy/data-export.ts';
import { auditEntriesOf } from '../helpers/audit.ts';
import { realBackends } from '../helpers/backend.ts';
import { makePerson, makeService, type Person } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { startMailCatcher } from '../helpers/mail-catcher.ts';
import { csrfTokenOf, signedInAgent } from '../portal/portal-helpers.ts';
import { checkResponse } from '../api/openapi-check.ts';
import { eventually } from './helpers.ts';

const at = (iso: string) => new Date(iso);

async function event(hub: Hub, userId: string, type: string, occurredAt: string, data: Record<string, unknown> = {}, service: string | null = null) {
  await hub.db.transaction((trx) => appendEvent(trx, { type, userId, service, data, occurredAt: at(occurredAt) }));
}

const depsOf = (hub: Hub): DailySummaryDeps => ({ db: hub.db, mailer: hub.mailer, mail: hub.mail, logger: hub.logger, issuer: hub.url, key: optOutKey(hub.config.secret), sendFrom: hub.config.dailySummary.fromMinute });

/** Turns the summary on as the person does: the form on /account/notifications. */
async function turnOn(hub: Hub, person: Person) {
  const agent = await signedInAgent(hub, person);
  const csrf = await csrfTokenOf(agent, hub);
  const page = await (await agent.request(`${hub.url}/account/notifications`)).text();
  const response = await agent.request(`${hub.url}/account/notifications/daily-summary`, { method: 'POST', body: new URLSearchParams({ _csrf: csrf, enabled: 'on' }), headers: { 'content-type': 'application/x-www-form-urlencoded' }, redirect: 'manual' });
  return { page, response, agent };
}

// The hub's own sender looks only once an hour here: the test drives the clock itself.
const quiet = (smtp: string) => ({ env: { SMTP_URL: smtp, DAILY_SUMMARY_POLL_SECONDS: '3600' } });

test.serial('the daily summary is off until turned on; then it goes once, after 20:00 on the person\'s clock, in their language, over SMTP, only on a day with something in it', async (t) => {
  const catcher = await startMailCatcher(t);
  const hub = await startTestHub(t, quiet(catcher.url));
  await makeService(hub, 'vezepygame');
  await makeService(hub, 'vezepyemail');
  const person = await makePerson(hub);
  const bystander = await makePerson(hub);
  await hub.db('users').whereIn('id', [person.id, bystander.id]).update({ time_zone: 'Europe/Berlin', locale: 'fr' });
  // 29 March 2026 in Berlin is 23 hours long: 28 March 23:00Z to 29 March 22:00Z.
  for (const who of [person, bystander]) {
    await event(hub, who.id, 'email.received', '2026-03-28T22:59:00Z', {}, 'vezepyemail');
    await event(hub, who.id, 'entitlement.granted', '2026-03-29T07:00:00Z', { service: 'vezepygame', tier: 'pro' }, 'vezepygame');
    await event(hub, who.id, 'game.match.finished', '2026-03-29T10:15:00Z', {}, 'vezepygame');
    await event(hub, who.id, 'email.received', '2026-03-29T11:00:00Z', {}, 'vezepyemail');
  }

  const { page, response } = await turnOn(hub, person);
  t.regex(page, /<input type="checkbox" name="enabled" value="on" aria-describedby="daily-summary-hint">/, 'off until turned on');
  t.is(response.status, 303);
  t.truthy(await hub.db('daily_summary_subscribers').where({ user_id: person.id }).first());
  t.deepEqual((await auditEntriesOf(hub.db, person.id, 'daily_summary.changed')).map((e) => e.data), [{ enabled: true, via: 'settings' }]);

  const deps = depsOf(hub);
  t.is(await sendDueSummaries(deps, at('2026-03-29T17:59:00Z')), 0, '19:59 in Berlin (summer time): not yet');
  t.is(await sendDueSummaries(deps, at('2026-03-29T18:00:00Z')), 1, '20:00 in Berlin');
  const mail = await catcher.waitFor(person.email, /VEZE/);
  t.is(mail.subject, 'Votre journée dans les services VEZE, dimanche 29 mars 2026 : 3 événements');
  // The email of 22:59Z on the 28th is 23:59 on the 28th in Berlin: not this day.
  t.regex(mail.text, /VEZEPYEMAIL: 1 événement\n {2}- 13:00 UTC\+2 VEZEPYEMAIL : Email received\n/);
  t.regex(mail.text, /VEZEPYGAME: 2 événements\n {2}- 09:00 UTC\+2 Vous avez obtenu VEZEPYGAME \(pro\)\n {2}- 12:15 UTC\+2 VEZEPYGAME : Game match finished\n/);
  t.regex(mail.html, /<html lang="fr">/);
  t.regex(mail.html, /VEZEPYGAME/);
  const optOut = /https?:\/\/\S+\/daily-summary\/opt-out\?token=\S+/.exec(mail.text)![0];
  t.is(mail.header('List-Unsubscribe'), `<${optOut}>`);
  t.is(mail.header('List-Unsubscribe-Post'), 'List-Unsubscribe=One-Click');
  t.true(mail.html.includes(optOut.replace(/&/g, '&amp;')));

  t.is(await sendDueSummaries(deps, at('2026-03-29T21:59:00Z')), 0, 'the day was sent: not again');
  // The next day has nothing in it: claimed, no mail.
  t.is(await sendDueSummaries(deps, at('2026-03-30T18:30:00Z')), 1);
  t.like(await hub.db('daily_summary_sends').where({ user_id: person.id, day: '2026-03-30' }).first(), { outcome: 'empty', events: 0 });
  t.like(await hub.db('daily_summary_sends').where({ user_id: person.id, day: '2026-03-29' }).first(), { outcome: 'sent', events: 3 });
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.is(catcher.messages.filter((m) => m.to.includes(person.email)).length, 1);
  t.is(catcher.messages.filter((m) => m.to.includes(bystander.email)).length, 0, 'never turned on: never mailed');

  // The person's data export tells the choice and each day.
  const exported = await exportPersonalData(hub.db, await hub.db('users').where({ id: person.id }).first());
  t.true(exported.notifications.daily_summary.enabled);
  t.deepEqual(exported.notifications.daily_summaries, [{ day: '2026-03-29', outcome: 'sent', event_count: 3 }, { day: '2026-03-30', outcome: 'empty', event_count: 0 }]);
});

test.serial('the opt-out link needs no sign-in, asks on GET, stops the summary on POST (RFC 8058 one-click too), and works once', async (t) => {
  const catcher = await startMailCatcher(t);
  const hub = await startTestHub(t, quiet(catcher.url));
  await makeService(hub, 'vezepygame');
  const person = await makePerson(hub);
  await turnOn(hub, person);
  await event(hub, person.id, 'game.match.finished', '2026-06-01T10:00:00Z', {}, 'vezepygame');
  await sendDueSummaries(depsOf(hub), at('2026-06-01T20:00:00Z'));
  const mail = await catcher.waitFor(person.email, /VEZE/);
  const link = /<(.+)>/.exec(mail.header('List-Unsubscribe')!)![1]!;

  /** Checked against docs/openapi.yaml: the page's status and type. */
  const call = async (url: string, init: RequestInit = {}) => {
    const response = await fetch(url, init);
    const body = await response.text();
    checkResponse(t, '/daily-summary/opt-out', init.method ?? 'GET', { status: response.status, headers: response.headers, body });
    return { status: response.status, body };
  };
  // No cookie: a bare fetch, as a mail client or a scanner makes it.
  const asked = await call(link);
  t.is(asked.status, 200);
  t.regex(asked.body, /<form method="post" action="\/daily-summary\/opt-out\?token=/);
  t.truthy(await hub.db('daily_summary_subscribers').where({ user_id: person.id }).first(), 'a GET stops nothing');

  const tampered = await call(link.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')), { method: 'POST' });
  t.is(tampered.status, 400);
  t.truthy(await hub.db('daily_summary_subscribers').where({ user_id: person.id }).first());

  const oneClick = await call(link, { method: 'POST', body: 'List-Unsubscribe=One-Click', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  t.is(oneClick.status, 200);
  t.regex(oneClick.body, /you will get no more daily summaries/);
  t.is(await hub.db('daily_summary_subscribers').where({ user_id: person.id }).first(), undefined);
  t.deepEqual((await auditEntriesOf(hub.db, person.id, 'daily_summary.changed')).map((e) => e.data), [{ enabled: true, via: 'settings' }, { enabled: false, via: 'opt-out link' }]);
  t.is(await hub.db('outbox').where({ type: 'daily_summary.changed', user_id: person.id }).count<{ n: string }>({ n: '*' }).first().then((r) => Number(r?.n)), 2);

  const again = await call(link, { method: 'POST' });
  t.is(again.status, 400, 'the link works once');
  // Turned on again: the old link stays dead, the new mail has a new one.
  await turnOn(hub, person);
  t.is((await fetch(link, { method: 'POST' })).status, 400);
  t.truthy(await hub.db('daily_summary_subscribers').where({ user_id: person.id }).first());
});

test.serial('senders racing over the same people mail each person\'s day once', async (t) => {
  const catcher = await startMailCatcher(t);
  const hub = await startTestHub(t, quiet(catcher.url));
  await makeService(hub, 'vezepygame');
  const people = await Promise.all(Array.from({ length: 4 }, () => makePerson(hub)));
  for (const person of people) {
    await hub.db('daily_summary_subscribers').insert({ user_id: person.id, nonce: `nonce-${person.id.slice(0, 8)}` });
    await event(hub, person.id, 'game.match.finished', '2026-06-01T10:00:00Z', {}, 'vezepygame');
  }
  const deps = depsOf(hub);
  await Promise.all([0, 1, 2, 3].map(() => sendDueSummaries(deps, at('2026-06-01T21:00:00Z'))));
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.deepEqual(people.map((p) => catcher.messages.filter((m) => m.to.includes(p.email)).length), [1, 1, 1, 1]);
});

test.serial('each person\'s summary waits for their own evening', async (t) => {
  const catcher = await startMailCatcher(t);
  const hub = await startTestHub(t, quiet(catcher.url));
  await makeService(hub, 'vezepygame');
  const [kolkata, losAngeles] = await Promise.all([makePerson(hub), makePerson(hub)]);
  for (const [person, zone] of [[kolkata!, 'Asia/Kolkata'], [losAngeles!, 'America/Los_Angeles']] as const) {
    await hub.db('users').where({ id: person.id }).update({ time_zone: zone });
    await hub.db('daily_summary_subscribers').insert({ user_id: person.id, nonce: `nonce-${person.id.slice(0, 8)}` });
    await event(hub, person.id, 'game.match.finished', '2026-06-01T14:00:00Z', {}, 'vezepygame');
  }
  const deps = depsOf(hub);
  // 15:00Z is 20:30 in Kolkata and 08:00 in Los Angeles.
  await sendDueSummaries(deps, at('2026-06-01T15:00:00Z'));
  t.deepEqual((await hub.db('daily_summary_sends').orderBy('day').select('user_id', 'day')).map((r: { user_id: string; day: Date | string }) => r.user_id), [kolkata!.id]);
  // 03:00Z on 2 June is 20:00 on 1 June in Los Angeles (summer time).
  await sendDueSummaries(deps, at('2026-06-02T03:00:00Z'));
  t.like(await hub.db('daily_summary_sends').where({ user_id: losAngeles!.id }).first(), { outcome: 'sent', events: 1 });
  await catcher.waitFor(losAngeles!.email, /VEZE/);
  t.is(catcher.messages.length, 2);
});

const twoInstances = realBackends ? test.serial : test.skip;

twoInstances('two hub instances on one database send a day\'s summary once', async (t) => {
  const catcher = await startMailCatcher(t);
  // From 00:00: due at once; both instances look every 200 ms.
  const env = { SMTP_URL: catcher.url, DAILY_SUMMARY_TIME: '00:00', DAILY_SUMMARY_POLL_SECONDS: '0.2' };
  const secret = 'two-instances-share-this-secret-0123456789';
  const a = await startTestHub(t, { env, secret });
  await makeService(a, 'vezepygame');
  const person = await makePerson(a);
  await a.db.transaction((trx) => appendEvent(trx, { type: 'game.match.finished', userId: person.id, service: 'vezepygame', data: {} }));
  const b = await startTestHub(t, { env, secret, database: a.config.database });
  await a.db('daily_summary_subscribers').insert({ user_id: person.id, nonce: 'nonce-two-instances' });
  await eventually(() => catcher.messages.some((m) => m.to.includes(person.email)), 10_000, 'the summary');
  await new Promise((resolve) => setTimeout(resolve, 1000));
  t.is(catcher.messages.filter((m) => m.to.includes(person.email)).length, 1);
  void b;
});
