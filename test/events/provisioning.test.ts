import test from 'ava';
import { TaskWorker } from '../../src/events/event-tasks.ts';
import { provisioning } from '../../src/events/provisioning.ts';
import type { Hub } from '../../src/app/start.ts';
import { grant, makePerson, makeService } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { eventually } from './helpers.ts';

const worker = (hub: Hub) => new TaskWorker({ db: hub.db, consumers: [provisioning], logger: hub.logger, metrics: hub.events.metrics });

const tasksLeft = async (hub: Hub) => Number((await hub.db('event_tasks').count('* as n').first())?.n);

test('sign-up provisioning happens once, however many instances race for it', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepyemail', { defaultTier: 'basic' });
  await makeService(hub, 'vezepygame', { defaultTier: 'basic' });
  await hub.events.tasks.stop();
  const people = await Promise.all([0, 1, 2, 3, 4].map(() => makePerson(hub)));
  await eventually(async () => (await tasksLeft(hub)) === 5, 10_000, 'five provisioning tasks');

  // Four workers (as on four instances) run at once.
  const workers = [hub.events.tasks, worker(hub), worker(hub), worker(hub)];
  for (const w of workers) w.start();
  t.teardown(() => Promise.all(workers.slice(1).map((w) => w.stop())));
  await eventually(async () => (await tasksLeft(hub)) === 0, 15_000, 'all tasks done');
  for (const person of people) {
    const granted = await hub.db('outbox').where({ user_id: person.id, type: 'entitlement.granted' }).select('service');
    t.deepEqual(granted.map((g: { service: string }) => g.service).sort(), ['vezepyemail', 'vezepygame']);
  }
});

test('provisioning never lowers a tier the person already holds', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepyemail', { defaultTier: 'basic' });
  await makeService(hub, 'vezepygame', { defaultTier: 'basic' });
  await hub.events.tasks.stop();
  const person = await makePerson(hub);
  await grant(hub, person.email, 'vezepygame', 'pro');
  hub.events.tasks.start();
  const entitlements = () => hub.db('entitlements as e').join('services as s', 's.id', 'e.service_id').where('e.user_id', person.id).orderBy('s.slug').select('s.slug', 'e.tier');
  // The task exists only once the relay has published user.signup: wait for its effect, not for an empty queue.
  await eventually(async () => (await entitlements()).length === 2 && (await tasksLeft(hub)) === 0, 15_000, 'provisioned');
  const rows = await entitlements();
  t.deepEqual(rows, [{ slug: 'vezepyemail', tier: 'basic' }, { slug: 'vezepygame', tier: 'pro' }]);
});
