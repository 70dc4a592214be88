import test from 'ava';
import { makeClient, makePerson, makeService } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { api, eventsSettled, eventually, personToken, WsClient } from '../events/helpers.ts';
import { checkResponse } from '../api/openapi-check.ts';

async function setup(t: Parameters<typeof startTestHub>[0]) {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepyjobs', { firstParty: true });
  await makeService(hub, 'vezepygame');
  // The service's apps: a native one (its deep links are com.veze.jobs:) and its web site.
  await makeClient(hub, { service: 'vezepyjobs', type: 'native', redirectUris: ['com.veze.jobs:/oauth'] });
  await makeClient(hub, { service: 'vezepyjobs', type: 'web', redirectUris: ['https://jobs.veze.example/callback'] });
  const ada = await makePerson(hub, { name: 'Ada' });
  const desktop = await personToken(hub, ada, 'vezepyjobs');
  const watch = await personToken(hub, ada, 'vezepyjobs');
  const register = async (token: string, kind: string, name: string) =>
    (await api(hub, '/hub/devices', token, { method: 'POST', body: JSON.stringify({ kind, name, os: 'x', app_version: '1.0' }) })).body.id as string;
  const desktopId = await register(desktop, 'desktop', 'Work PC');
  const watchId = await register(watch, 'watch', 'Watch');
  await eventsSettled(hub);
  return { hub, ada, desktop, watch, desktopId, watchId };
}

test('open a job on the desktop, continue on the watch: a live notice without the link, the link once, then it is gone', async (t) => {
  const { hub, ada, desktop, watch, desktopId, watchId } = await setup(t);
  const onWatch = await WsClient.open(`${hub.url}/hub/events`, { authorization: `Bearer ${watch}` });
  t.teardown(() => onWatch.close());
  await eventually(() => onWatch.messages.find((m) => m.type === 'ready'), 10_000, 'the watch\'s stream');

  const offer = await api(hub, '/hub/handoff', desktop, { method: 'POST', body: JSON.stringify({ what: 'job', title: 'Job 42: fix the boiler', url: 'com.veze.jobs:/job/42', expires_in: 300 }) });
  checkResponse(t, '/hub/handoff', 'POST', offer);
  t.is(offer.status, 201);
  t.is(offer.headers.get('location'), `/hub/handoff/${offer.body.id}`);
  t.like(offer.body, { what: 'job', title: 'Job 42: fix the boiler', service: 'vezepyjobs', from_device_id: desktopId });
  t.false('url' in offer.body);
  const expiresIn = Date.parse(offer.body.expires_at) - Date.now();
  t.true(expiresIn > 290_000 && expiresIn <= 300_000);

  // The watch hears of it at once, without the link.
  const notice = await eventually(() => onWatch.events.find((m) => m.event?.type === 'handoff.offered'), 10_000, 'the live notice');
  t.like(notice.event!.data as Record<string, unknown>, { handoff_id: offer.body.id, title: 'Job 42: fix the boiler', what: 'job', from_device_id: desktopId });
  t.false(JSON.stringify(notice.event).includes('com.veze.jobs:/job/42'), 'the link is not in the event');
  const listed = await api(hub, '/hub/handoff', watch);
  checkResponse(t, '/hub/handoff', 'GET', listed);
  t.deepEqual(listed.body.handoffs.map((h: { id: string }) => h.id), [offer.body.id]);

  // Opened on the watch: the link, once.
  const taken = await api(hub, `/hub/handoff/${offer.body.id}/take`, watch, { method: 'POST' });
  checkResponse(t, '/hub/handoff/{id}/take', 'POST', taken);
  t.is(taken.status, 200);
  t.is(taken.body.url, 'com.veze.jobs:/job/42');
  const again = await api(hub, `/hub/handoff/${offer.body.id}/take`, desktop, { method: 'POST' });
  checkResponse(t, '/hub/handoff/{id}/take', 'POST', again);
  t.is(again.status, 409);
  t.regex(again.body.detail, /already opened on another device/);
  t.deepEqual((await api(hub, '/hub/handoff', watch)).body.handoffs, []);

  // Told and recorded: who took it, on which device.
  const takenEvent = await eventually(() => onWatch.events.find((m) => m.event?.type === 'handoff.taken'), 10_000, 'handoff.taken');
  t.like(takenEvent.event!.data as Record<string, unknown>, { handoff_id: offer.body.id, taken_by_device_id: watchId, service: 'vezepyjobs' });
  const audits = await hub.db('audit_log').where({ subject_id: ada.id }).whereIn('action', ['handoff.offered', 'handoff.taken']).orderBy('seq').select('action');
  t.deepEqual(audits.map((a: { action: string }) => a.action), ['handoff.offered', 'handoff.taken']);
});

test('a hand-off carries only the offering service\'s links, lives at most ten minutes, and is the person\'s alone', async (t) => {
  const { hub, desktop, watch } = await setup(t);
  const offer = (body: unknown, token = desktop) => api(hub, '/hub/handoff', token, { method: 'POST', body: JSON.stringify(body) });
  const base = { what: 'document', title: 'Quarterly report' };

  t.is((await offer({ ...base, url: 'https://jobs.veze.example/docs/7' })).status, 201, 'a page of its web site');
  const foreign = await offer({ ...base, url: 'https://evil.example/phish' });
  checkResponse(t, '/hub/handoff', 'POST', foreign);
  t.is(foreign.status, 400);
  t.regex(foreign.body.detail, /page or deep link of vezepyjobs/);
  t.is((await offer({ ...base, url: 'javascript:alert(1)' })).status, 400);
  t.is((await offer({ ...base, url: 'com.veze.other:/x' })).status, 400);
  const long = await offer({ ...base, url: 'https://jobs.veze.example/docs/7', expires_in: 601 });
  t.is(long.status, 400);
  t.regex(long.body.errors.expires_in, /at most 600 seconds/);
  t.is((await offer({ title: 'x', url: 'https://jobs.veze.example/' })).status, 400, 'what is required');

  // Expired: refused.
  const soon = await offer({ ...base, url: 'https://jobs.veze.example/docs/8', expires_in: 10 });
  await hub.db('handoffs').where({ id: soon.body.id }).update({ expires_at: new Date(Date.now() - 1000) });
  const late = await api(hub, `/hub/handoff/${soon.body.id}/take`, watch, { method: 'POST' });
  t.is(late.status, 404);
  t.regex(late.body.detail, /expired/);

  // Someone else's: as if it did not exist.
  const bob = await makePerson(hub, { name: 'Bob' });
  const bobs = await personToken(hub, bob, 'vezepyjobs');
  const open = await offer({ ...base, url: 'https://jobs.veze.example/docs/9' });
  const stolen = await api(hub, `/hub/handoff/${open.body.id}/take`, bobs, { method: 'POST' });
  t.is(stolen.status, 404);
  t.deepEqual((await api(hub, '/hub/handoff', bobs)).body.handoffs, []);
  t.is((await api(hub, '/hub/handoff/not-a-uuid/take', watch, { method: 'POST' })).status, 404);
  t.is((await api(hub, `/hub/handoff/${open.body.id}/take`, watch, { method: 'POST' })).status, 200, 'still there for its person');
});

test('a watch that only long-polls sees the offer too', async (t) => {
  const { hub, desktop, watch } = await setup(t);
  const start = await api(hub, '/hub/events/poll?wait=0', watch);
  const waiting = api(hub, `/hub/events/poll?since=${start.body.next}&wait=25`, watch);
  await eventually(() => hub.events.live.connectionCount === 1, 10_000, 'the poll to wait');
  await api(hub, '/hub/handoff', desktop, { method: 'POST', body: JSON.stringify({ what: 'job', title: 'Job 7', url: 'com.veze.jobs:/job/7' }) });
  const got = await waiting;
  t.deepEqual(got.body.events.map((e: { event: { type: string } }) => e.event.type), ['handoff.offered']);
});
