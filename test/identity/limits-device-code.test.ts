import test from 'ava';
import { limitPolicy } from '../../src/platform/rate-limits.ts';
import { startTestHub } from '../helpers/hub.ts';
import { UserAgent } from '../helpers/user-agent.ts';

const xsrfOf = (page: string) => /name="xsrf" value="([^"]+)"/.exec(page)?.[1];

test('wrong device codes count against the IP: past the limit, even a well-formed entry is refused', async (t) => {
  const hub = await startTestHub(t);
  const agent = new UserAgent();
  let xsrf = xsrfOf(await (await agent.request(`${hub.url}/device`)).text());
  t.truthy(xsrf);
  // As a browser does: each answer's form carries the secret for the next try.
  const enter = async (code: string) => {
    const answer = await agent.postForm(`${hub.url}/device`, { xsrf: xsrf!, user_code: code });
    const page = await answer.text();
    xsrf = xsrfOf(page) ?? xsrf;
    return { status: answer.status, page, retryAfter: answer.headers.get('retry-after') };
  };
  const first = await enter('BCDF-GHJK');
  t.is(first.status, 400);
  t.regex(first.page, /not right|expired/);
  for (let i = 1; i < limitPolicy.ipAttempts; i++) t.is((await enter('BCDF-GHJK')).status, 400);
  const refused = await enter('LMNP-QRST');
  t.is(refused.status, 429);
  t.regex(refused.page, /Too many wrong codes/);
  t.truthy(refused.retryAfter);
});

test('no spelling of the path the provider accepts escapes the limit (/Device, /device/, /DEVICE/, mixed)', async (t) => {
  const hub = await startTestHub(t);
  const agent = new UserAgent();
  const spellings = ['/Device', '/device/', '/DEVICE/', '/dEvIcE', '/device'];
  let refusedAt = -1;
  for (let i = 0; i < limitPolicy.ipAttempts + 2 && refusedAt < 0; i++) {
    // A fresh form each time, as an attacker would fetch it; the guesses rotate over the spellings.
    const xsrf = xsrfOf(await (await agent.request(`${hub.url}/device`)).text());
    const guess = await agent.postForm(`${hub.url}${spellings[i % spellings.length]}`, { xsrf: xsrf!, user_code: 'BCDF-GHJK' });
    const body = await guess.text();
    if (guess.status === 429) refusedAt = i;
    else t.is(guess.status, 400, `${spellings[i % spellings.length]}: ${guess.status} ${body.slice(0, 80)}`);
  }
  t.is(refusedAt, limitPolicy.ipAttempts, 'the guesses over every spelling share one counter');
  for (const path of spellings) {
    const xsrf = xsrfOf(await (await agent.request(`${hub.url}/device`)).text());
    const refused = await agent.postForm(`${hub.url}${path}`, { xsrf: xsrf!, user_code: 'LMNP-QRST' });
    t.is(refused.status, 429, path);
    t.truthy(refused.headers.get('retry-after'), path);
  }
});
