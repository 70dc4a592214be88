import test from 'ava';
import { limitPolicy } from '../../src/identity/rate-limits.ts';
import { startTestHub } from '../helpers/hub.ts';
import { UserAgent } from '../helpers/user-agent.ts';

test('wrong device codes count against the IP: past the limit, even a well-formed entry is refused', async (t) => {
  const hub = await startTestHub(t);
  const agent = new UserAgent();
  const page = await (await agent.request(`${hub.url}/device`)).text();
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(page)?.[1];
  t.truthy(xsrf);
  const enter = (code: string) => agent.postForm(`${hub.url}/device`, { xsrf: xsrf!, user_code: code });
  const first = await enter('BCDF-GHJK');
  t.is(first.status, 400);
  t.regex(await first.text(), /not right|expired/);
  for (let i = 1; i < limitPolicy.ipAttempts; i++) await (await enter('BCDF-GHJK')).arrayBuffer();
  const refused = await enter('LMNP-QRST');
  t.is(refused.status, 429);
  t.regex(await refused.text(), /Too many wrong codes/);
  t.truthy(refused.headers.get('retry-after'));
});
