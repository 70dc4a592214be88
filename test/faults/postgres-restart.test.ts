import test from 'ava';
import { zeroStreamId } from '../../src/events/stream-ids.ts';
import { realBackends } from '../helpers/backend.ts';
import { makePerson, relyingParty } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { basic, eventually, sceneOn } from '../helpers/oidc.ts';
import { drive, holdings, Ledger, lostTokens, publication } from './load.ts';
import { cannotRunPostgres, ownPostgres } from './own-servers.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('PostgreSQL restarted under sign-in and token load: 503 with Retry-After while down, back by itself, no token, audit entry or event lost, none stored twice', async (t) => {
  if (!realBackends) {
    t.log('skipped on the embedded back end: PGlite runs inside the hub process, there is no database server to restart');
    t.pass();
    return;
  }
  const why = cannotRunPostgres();
  if (why) {
    t.log(`skipped: ${why}`);
    t.pass();
    return;
  }
  t.timeout(60_000);
  const pg = await ownPostgres(t);
  const hub = await startTestHub(t, { database: { kind: 'postgres', url: pg.url } });
  const s = await sceneOn(hub);
  const party = { url: hub.url, client: s.client, person: s.person };
  const parties = [party, ...(await Promise.all([1, 2, 3].map(async () => ({ ...party, person: await makePerson(hub) }))))];
  const rp = await relyingParty(hub, s.client);
  const ledger = new Ledger();

  let stopped = false;
  const load = drive(parties, ledger, rp, () => stopped);
  await eventually(async () => (ledger.signIns >= 3 ? true : undefined), 20_000);
  const before = { signIns: ledger.signIns, failures: ledger.failures.length };

  pg.crash();
  const downAt = Date.now();
  // Besides the load: the other doors a client or a browser knocks on. Each answers at once, as
  // itself (userinfo from the token cache, or 503), and never 500.
  const token = ledger.issued[0]!.access_token;
  const probes = {
    userinfo: () => fetch(`${hub.url}/me`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) }),
    introspection: () => fetch(`${hub.url}/token/introspection`, { method: 'POST', headers: { authorization: basic(s.client), 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: 'not-a-token-we-know' }), signal: AbortSignal.timeout(10_000) }),
    readiness: () => fetch(`${hub.url}/readyz`, { signal: AbortSignal.timeout(10_000) }),
    portal: () => fetch(`${hub.url}/account/sessions`, { headers: { cookie: 'nothing=here' }, redirect: 'manual', signal: AbortSignal.timeout(10_000) }),
    api: () => fetch(`${hub.url}/hub/services`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) }),
  };
  for (const [name, probe] of Object.entries(probes)) {
    const started = Date.now();
    const answer = await probe();
    const body = await answer.text();
    t.log(`${name} while down: ${answer.status} in ${Date.now() - started} ms`);
    t.true(answer.status < 500 || (answer.status === 503 && (answer.headers.has('retry-after') || name === 'readiness')), `${name}: ${answer.status} ${body.slice(0, 160)}`);
    t.true(Date.now() - started < 5_000, `${name} answered in ${Date.now() - started} ms`);
  }
  await sleep(3_000);
  const whileDown = ledger.failures.slice(before.failures);
  pg.start();
  const upAt = Date.now();
  const signInsAtRestart = ledger.signIns;
  await eventually(async () => (ledger.signIns >= signInsAtRestart + 3 ? true : undefined), 20_000);
  const recoveredIn = ledger.lastSuccessAt - upAt;
  stopped = true;
  await load;

  t.log(`restarted at ${upAt - downAt}`);
  t.log(`before the crash: ${before.signIns} sign-ins; down ${upAt - downAt} ms: ${whileDown.length} refused; back ${recoveredIn} ms after the restart; in all ${ledger.signIns} sign-ins, ${ledger.refreshes} refreshes, ${ledger.failures.length} refused`);
  t.true(whileDown.length > 0, 'requests were made while the database was down');
  const wrong = ledger.failures.filter((a) => a.status !== 503 || a.retryAfter === null || a.ms > 5_000);
  t.deepEqual(wrong.map((a) => `${a.step} at ${(a.at ?? 0) - downAt}: ${a.status} in ${a.ms} ms, Retry-After ${a.retryAfter}: ${a.body.slice(0, 160)}`), [], 'every refused request is a fast 503 with Retry-After');
  t.true(recoveredIn < 10_000, `sign-ins work again ${recoveredIn} ms after the database is back`);

  t.deepEqual(await lostTokens(party, ledger), [], 'every token a client was given is active');
  await eventually(async () => ((await holdings(hub.db, hub.config)).unpublished === 0 ? true : undefined), 15_000);
  const held = await holdings(hub.db, hub.config);
  t.true(held.chain.ok, JSON.stringify(held.chain.problem));
  t.is(held.signInEntries, held.sessionEvents, 'each sign-in has its audit entry and its event, none without the other');
  t.true(held.signInEntries >= ledger.signIns && held.signInEntries <= ledger.loginPosts, `sign-in entries ${held.signInEntries}: at least the ${ledger.signIns} completed, at most the ${ledger.loginPosts} posted`);
  const page = await hub.events.bus.read(zeroStreamId, 100_000);
  const { missing, resent } = publication(held.outboxIds, page.entries.map((e) => e.event.id));
  t.deepEqual(missing, [], 'every event in the outbox is in the stream');
  t.is(new Set(held.outboxIds).size, held.outboxIds.length, 'no event stored twice');
  t.log(`${held.outboxIds.length} events, ${resent} sent again after a relay round the crash cut (consumers dedupe by id)`);
});

test('PostgreSQL hung (every server process stopped, connections left open): requests answer 503 with Retry-After within seconds, never hang, and recover when it resumes', async (t) => {
  if (!realBackends) {
    t.log('skipped on the embedded back end: PGlite runs inside the hub process, there is no database server to hang');
    t.pass();
    return;
  }
  const why = cannotRunPostgres();
  if (why) {
    t.log(`skipped: ${why}`);
    t.pass();
    return;
  }
  t.timeout(60_000);
  const pg = await ownPostgres(t);
  // DATABASE_TIMEOUT_SECONDS=2: the hub gives up on a server that does not answer after 2 s.
  const hub = await startTestHub(t, { database: { kind: 'postgres', url: pg.url, queryTimeoutMs: 2_000 } });
  const s = await sceneOn(hub);
  const party = { url: hub.url, client: s.client, person: s.person };
  const parties = [party, ...(await Promise.all([1, 2].map(async () => ({ ...party, person: await makePerson(hub) }))))];
  const rp = await relyingParty(hub, s.client);
  const ledger = new Ledger();

  let stopped = false;
  const load = drive(parties, ledger, rp, () => stopped);
  await eventually(async () => (ledger.signIns >= 2 ? true : undefined), 20_000);
  const before = ledger.failures.length;
  pg.freeze();
  const frozenAt = Date.now();
  await sleep(8_000);
  const whileFrozen = ledger.failures.slice(before);
  pg.thaw();
  const thawedAt = Date.now();
  const signInsAtThaw = ledger.signIns;
  await eventually(async () => (ledger.signIns >= signInsAtThaw + 2 ? true : undefined), 30_000);
  stopped = true;
  await load;

  t.log(`frozen ${thawedAt - frozenAt} ms: ${whileFrozen.length} refused (${whileFrozen.map((a) => `${a.status}/${a.ms}ms`).join(' ')}); back ${ledger.lastSuccessAt - thawedAt} ms after`);
  t.true(whileFrozen.length > 0, 'requests were answered (not left hanging) while the database hung');
  const wrong = ledger.failures.filter((a) => a.status !== 503 || a.retryAfter === null || a.ms > 7_000);
  t.deepEqual(wrong.map((a) => `${a.step} at ${(a.at ?? 0) - frozenAt}: ${a.status} in ${a.ms} ms: ${a.body.slice(0, 120)}`), [], 'every refused request is a 503 with Retry-After within seconds');
  t.deepEqual(await lostTokens(party, ledger), [], 'every token a client was given is active');
});
