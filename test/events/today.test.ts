import test from 'ava';
import { appendEvent } from '../../src/outbox/outbox.ts';
import { dayBounds, startOfDay, todayFor } from '../../src/events/today.ts';
import type { Hub } from '../../src/app/start.ts';
import { makePerson, makeService } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { personToken } from './helpers.ts';
import { graphqlPost } from '../graphql/helpers.ts';
import { signedInAgent } from '../portal/portal-helpers.ts';

const at = (iso: string) => new Date(iso);

test('a day is the person\'s calendar day: 23 hours when the clocks go forward, 25 when they go back, from 01:00 where midnight is skipped', (t) => {
  t.deepEqual(dayBounds(at('2026-03-29T12:00:00Z'), 'Europe/Berlin'), { date: '2026-03-29', start: at('2026-03-28T23:00:00Z'), end: at('2026-03-29T22:00:00Z') });
  t.deepEqual(dayBounds(at('2026-11-02T04:30:00Z'), 'America/New_York'), { date: '2026-11-01', start: at('2026-11-01T04:00:00Z'), end: at('2026-11-02T05:00:00Z') });
  t.deepEqual(startOfDay('2026-09-06', 'America/Santiago'), at('2026-09-06T04:00:00Z'));
  t.deepEqual(dayBounds(at('2026-12-07T20:00:00Z'), 'Asia/Kolkata'), { date: '2026-12-08', start: at('2026-12-07T18:30:00Z'), end: at('2026-12-08T18:30:00Z') });
  t.deepEqual(dayBounds(at('2026-12-07T23:59:59Z'), 'UTC'), { date: '2026-12-07', start: at('2026-12-07T00:00:00Z'), end: at('2026-12-08T00:00:00Z') });
  t.deepEqual(dayBounds(at('2026-12-07T10:00:00Z'), 'Pacific/Kiritimati'), { date: '2026-12-08', start: at('2026-12-07T10:00:00Z'), end: at('2026-12-08T10:00:00Z') });
});

async function event(hub: Hub, userId: string, type: string, occurredAt: string, data: Record<string, unknown> = {}, service: string | null = null) {
  await hub.db.transaction((trx) => appendEvent(trx, { type, userId, service, data, occurredAt: at(occurredAt) }));
}

test('today groups the person\'s day by service, counts every event and names the notable ones, in their time zone, the same way every time', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepygame');
  await makeService(hub, 'vezepyemail');
  await makeService(hub, 'vezepyweb', { firstParty: true });
  const person = await makePerson(hub);
  await hub.db('users').where({ id: person.id }).update({ time_zone: 'America/New_York', locale: 'de' });
  const other = await makePerson(hub);
  // 1 November 2026 in New York: 04:00Z to 05:00Z the next day (the clocks go back).
  await event(hub, person.id, 'email.received', '2026-11-01T03:59:00Z', { subject: 'the day before' }, 'vezepyemail');
  await event(hub, person.id, 'session.created', '2026-11-01T04:00:00Z', { device: 'Safari on iPhone', new_device: false, service: 'vezepygame' });
  await event(hub, person.id, 'entitlement.granted', '2026-11-01T09:00:00Z', { service: 'vezepygame', tier: 'pro' }, 'vezepygame');
  await event(hub, person.id, 'game.match.finished', '2026-11-01T12:00:00Z', { result: 'won' }, 'vezepygame');
  await event(hub, person.id, 'session.created', '2026-11-01T13:00:00Z', { device: 'Firefox on Linux', new_device: true });
  await event(hub, person.id, 'user.updated', '2026-11-01T14:00:00Z', { changed: ['locale'] });
  await event(hub, person.id, 'email.received', '2026-11-02T04:30:00Z', { subject: 'late, still 1 November' }, 'vezepyemail');
  await event(hub, person.id, 'email.received', '2026-11-02T05:00:00Z', { subject: 'the day after' }, 'vezepyemail');
  await event(hub, other.id, 'email.received', '2026-11-01T12:00:00Z', {}, 'vezepyemail');

  const user = await hub.db('users').where({ id: person.id }).first();
  const day = await todayFor(hub.db, user, at('2026-11-01T20:00:00Z'));
  t.is(day.date, '2026-11-01');
  t.is(day.timeZone, 'America/New_York');
  t.is(day.count, 6);
  const shape = day.services.map((s) => ({ service: s.service?.slug ?? null, count: s.count, notable: s.notable.map((n) => [n.type, n.at.toISOString(), n.summary]) }));
  t.deepEqual(shape, [
    { service: null, count: 2, notable: [['session.created', '2026-11-01T13:00:00.000Z', 'Sie haben sich auf einem neuen Gerät angemeldet: Firefox on Linux']] },
    { service: 'vezepyemail', count: 1, notable: [['email.received', '2026-11-02T04:30:00.000Z', 'VEZEPYEMAIL: Email received']] },
    { service: 'vezepygame', count: 3, notable: [['entitlement.granted', '2026-11-01T09:00:00.000Z', 'Sie haben VEZEPYGAME erhalten (pro)'], ['game.match.finished', '2026-11-01T12:00:00.000Z', 'VEZEPYGAME: Game match finished']] },
  ]);
  // The same question asked again at another moment of the same day: the same answer.
  t.deepEqual(await todayFor(hub.db, user, at('2026-11-02T04:59:00Z')), day);
  // A person without a time zone has UTC days.
  const utc = await todayFor(hub.db, { ...user, time_zone: null }, at('2026-11-01T20:00:00Z'));
  t.is(utc.timeZone, 'UTC');
  t.is(utc.count, 6, '03:59Z is 1 November in UTC; 04:30Z the next day is not');
});

test('GraphQL today and the home page\'s Today card show the day as it is now', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepygame');
  await makeService(hub, 'vezepyweb', { firstParty: true });
  const person = await makePerson(hub);
  const now = new Date();
  await event(hub, person.id, 'entitlement.granted', now.toISOString(), { service: 'vezepygame', tier: 'pro' }, 'vezepygame');
  const token = await personToken(hub, person, 'vezepyweb');
  const answer = await graphqlPost(hub, '{ today { date timeZone count services { service { slug name } count notable { type at summary } } } }', {}, { authorization: `Bearer ${token}` });
  t.falsy(answer.body.errors);
  const today = answer.body.data!.today as { date: string; timeZone: string; services: Array<{ service: { slug: string } | null; count: number; notable: Array<{ type: string; summary: string }> }> };
  t.is(today.timeZone, 'UTC');
  t.is(today.date, now.toISOString().slice(0, 10));
  const game = today.services.find((s) => s.service?.slug === 'vezepygame')!;
  t.deepEqual(game.notable.map((n) => [n.type, n.summary]), [['entitlement.granted', 'You got VEZEPYGAME (pro)']]);

  // A busy service: the card names five and says how many more.
  for (let i = 0; i < 6; i++) await event(hub, person.id, 'game.match.finished', new Date(now.getTime() + i).toISOString(), {}, 'vezepygame');

  const agent = await signedInAgent(hub, person);
  const html = await (await agent.request(`${hub.url}/account`)).text();
  const card = html.slice(html.indexOf('id="today"'), html.indexOf('</section>', html.indexOf('id="today"')));
  t.regex(card, /Today across your services/);
  t.regex(card, /data-service="vezepygame"/);
  t.regex(card, /You got VEZEPYGAME \(pro\)/);
  const gameGroup = card.slice(card.indexOf('data-service="vezepygame"')).split('class="today-service"')[0]!;
  t.is(gameGroup.match(/class="timeline-text"/g)?.length, 5);
  t.regex(gameGroup, /and 2 more/);
  t.regex(card, /Your account/, 'the sign-ins of this test are the account\'s own group');
});
