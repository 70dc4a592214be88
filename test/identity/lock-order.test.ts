import test from 'ava';
import type { Knex } from 'knex';
import { appendAudit } from '../../src/audit/audit-log.ts';
import { writeTogether } from '../../src/db/write-together.ts';
import { knownBrowserQueries } from '../../src/queries/known-browsers.ts';
import { userQueries } from '../../src/queries/users.ts';
import { appendEvent } from '../../src/outbox/outbox.ts';
import { realBackends } from '../helpers/backend.ts';
import { makeClient, makePerson, makeService, relyingParty } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { authorize } from '../helpers/oidc.ts';
import { NamedAgent, userAgents } from '../portal/named-agent.ts';

// Two connections at once: the embedded database has one.
const concurrent = realBackends ? test : test.skip;

/** Until `done` settles or another connection of this database waits on a lock (at most `ms`). */
async function untilSettledOrWaiting(db: Knex, done: Promise<unknown>, ms: number): Promise<void> {
  let settled = false;
  void done.then(() => (settled = true), () => (settled = true));
  const until = Date.now() + ms;
  while (!settled && Date.now() < until) {
    const { rows } = await db.raw("select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'");
    if (rows[0].n > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// The portal sends the browser's time zone as soon as it opens after a sign-in (setPreferences
// holds the person's row, then writes its audit entry) while the person may be signing in on
// another device (the sign-in holds the audit chain, then records the device, whose row refers to
// the person's): the two once waited on each other, and Postgres ended the sign-in with a 500.
concurrent('a sign-in on one device while a change to the person is being audited on another: both finish, and the sign-in reaches the service', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepygame');
  const person = await makePerson(hub);
  const rp = await relyingParty(hub, await makeClient(hub, { service: 'vezepygame' }));

  const change = await hub.db.transaction();
  try {
    t.truthy(await userQueries.lock(change, person.id), 'the person\'s row is held, as a preference or email change holds it');
    const signIn = authorize({ hub, rp, person }, {}, new NamedAgent(userAgents.playStation));
    await untilSettledOrWaiting(hub.db, signIn, 10_000);
    await appendAudit(change, { action: 'preferences.changed', actorId: person.id, subjectId: person.id, data: { time_zone: 'Asia/Kolkata' } });
    await change.commit();
    const { callback } = await signIn;
    t.truthy(callback.searchParams.get('code'), 'the sign-in reached the service with a code');
  } finally {
    if (!change.isCompleted()) await change.rollback();
  }
  const audited = await hub.db('audit_log').where({ subject_id: person.id }).whereIn('action', ['signin.succeeded', 'preferences.changed']).pluck('action');
  t.deepEqual(audited.sort(), ['preferences.changed', 'signin.succeeded']);
});

// The sign-in record runs again after a deadlock, so the test above would pass with the old
// FOR UPDATE too (one sign-in ended, then run again). This one holds the lock itself to account.
concurrent('while the person\'s row is held for a change, rows that refer to the person (a new device, an event) are written without waiting', async (t) => {
  const hub = await startTestHub(t);
  const person = await makePerson(hub);
  const change = await hub.db.transaction();
  try {
    t.truthy(await userQueries.lock(change, person.id));
    await hub.db.transaction(async (trx) => {
      // Waiting would end in 55P03 lock_not_available, not in a test that hangs.
      await trx.raw("set local lock_timeout = '2s'");
      const { browser } = await writeTogether(trx, { browser: knownBrowserQueries.see(trx, { user_id: person.id, device_hash: 'a-new-browser', user_agent: 'test', ip: '192.0.2.1' }) });
      t.like(browser[0], { seen: false });
      await appendEvent(trx, { type: 'session.created', userId: person.id, data: {} });
    });
  } finally {
    await change.rollback();
  }
  t.true(await knownBrowserQueries.isKnown(hub.db, person.id, 'a-new-browser'));
});
