import test from 'ava';
import { makeClient, makePerson, makeService, relyingParty } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { signedInTokens } from '../helpers/oidc.ts';
import { freePort, python, startProcess } from '../helpers/processes.ts';

test('GET /fantasy-team answers the person\'s team for their VEZEPySports token from the hub, 404 for an unknown league, 401 without a good token', async (t) => {
  const hub = await startTestHub(t);
  const sports = await makeService(hub, 'vezepysports', { firstParty: true });
  const email = await makeService(hub, 'vezepyemail', { firstParty: true });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  await startProcess(t, python, ['examples/vezepysports/server.py'], { ISSUER: hub.url, PORT: String(port), PYTHONDONTWRITEBYTECODE: '1' }, `${url}/health`);

  const rp = await relyingParty(hub, await makeClient(hub, { service: 'vezepysports' }));
  const tokenFor = async (person: Awaited<ReturnType<typeof makePerson>>, resource = sports.resource) =>
    (await signedInTokens({ hub, rp, person }, { scope: 'openid read', resource })).access_token;
  const ada = await makePerson(hub);
  const grace = await makePerson(hub, { name: 'Grace Hopper' });
  const adaToken = await tokenFor(ada);
  const team = (league: string, token?: string) => fetch(`${url}/fantasy-team?leagueId=${encodeURIComponent(league)}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});

  const response = await team('veze-football', adaToken);
  t.is(response.status, 200);
  const body = (await response.json()) as { id: string; roster: Array<{ name: string; points: number }> };
  t.deepEqual(Object.keys(body).sort(), ['id', 'roster']);
  t.is(body.roster.length, 5);
  t.true(body.roster.every((p) => typeof p.name === 'string' && Number.isInteger(p.points)));
  t.deepEqual(await (await team('veze-football', adaToken)).json(), body, 'the same team every time');
  // Another sign-in of the same person: the same team; another person or league: another one.
  t.deepEqual(await (await team('veze-football', await tokenFor(ada))).json(), body);
  t.not(((await (await team('veze-football', await tokenFor(grace))).json()) as { id: string }).id, body.id);
  t.not(((await (await team('veze-cricket', adaToken)).json()) as { id: string }).id, body.id);

  const unknown = await team('veze-curling', adaToken);
  t.is(unknown.status, 404);
  t.is(unknown.headers.get('content-type'), 'application/problem+json');
  t.like(await unknown.json(), { status: 404, title: 'LEAGUE_NOT_FOUND' });
  t.is((await team('', adaToken)).status, 400);

  const anonymous = await team('veze-football');
  t.is(anonymous.status, 401);
  t.is(anonymous.headers.get('www-authenticate'), 'Bearer');
  const rpEmail = await relyingParty(hub, await makeClient(hub, { service: 'vezepyemail' }));
  const emailToken = (await signedInTokens({ hub, rp: rpEmail, person: ada }, { scope: 'openid read', resource: email.resource })).access_token;
  const wrongAudience = await team('veze-football', emailToken);
  t.is(wrongAudience.status, 401);
  t.is(wrongAudience.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
  t.deepEqual(await (await fetch(`${url}/health`)).json(), { status: 'ok' });
});
