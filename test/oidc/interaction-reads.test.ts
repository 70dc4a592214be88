import test from 'ava';
import * as oidc from 'openid-client';
import { callbackUrl } from '../helpers/fixtures.ts';
import { authorize, scene } from '../helpers/oidc.ts';
import { UserAgent } from '../helpers/user-agent.ts';
import { saveInteractionResult } from '../../src/web/sign-in/interaction-result.ts';

// Serial: the first wraps the global fetch to tell which request each read belongs to.
test.serial('each request of a sign-in reads its interaction once: the password step and the consent step save their result without reading it again', async (t) => {
  const s = await scene(t);
  const { Interaction } = s.hub.holder.current;
  const find = Interaction.find;
  // Each request the browser makes, in order, with the interaction reads made while it was served.
  const requests: Array<{ page: string; reads: number }> = [];
  Interaction.find = function (this: typeof Interaction, ...args: Parameters<typeof find>) {
    const current = requests.at(-1);
    if (current) current.reads++;
    return find.apply(this, args);
  } as typeof find;
  const realFetch = globalThis.fetch;
  globalThis.fetch = (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    requests.push({ page: `${init?.method ?? 'GET'} ${url.pathname.replace(/\/[\w-]{16,}/g, '/:uid')}`, reads: 0 });
    return realFetch(input, init);
  };
  t.teardown(() => {
    globalThis.fetch = realFetch;
    Interaction.find = find;
  });

  // A service that is not first-party: the password, then the consent page.
  const { callback } = await authorize(s);
  t.truthy(callback.searchParams.get('code'));
  const pages = requests.map(({ page }) => page);
  t.true(pages.includes('POST /interaction/:uid/login'), JSON.stringify(requests));
  t.true(pages.includes('POST /interaction/:uid/confirm'), JSON.stringify(requests));
  for (const { page, reads } of requests) t.true(reads <= 1, `${page} read the interaction ${reads} times: ${JSON.stringify(requests)}`);
});

test.serial('cancelling on the sign-in page sends the browser back to the service with access_denied and its state', async (t) => {
  const s = await scene(t);
  const agent = new UserAgent();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(s.rp, { redirect_uri: callbackUrl, scope: 'openid email', state, code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()), code_challenge_method: 'S256' });
  const { response } = await agent.follow(url.href, s.hub.url);
  const uid = /\/interaction\/([\w-]+)\/login/.exec(await response.text())?.[1];
  t.truthy(uid, 'the sign-in page');
  const cancelled = await agent.postForm(`${s.hub.url}/interaction/${uid}/abort`, {});
  t.is(cancelled.status, 303);
  const { url: end } = await agent.follow(new URL(cancelled.headers.get('location')!, s.hub.url).href, s.hub.url);
  const back = new URL(end);
  t.is(`${back.origin}${back.pathname}`, callbackUrl);
  t.is(back.searchParams.get('error'), 'access_denied');
  t.is(back.searchParams.get('state'), state);
});

test('an interaction\'s result is saved for the time it has left, merged with the last step\'s when asked; one that ran out is not saved again', async (t) => {
  const now = Math.floor(Date.now() / 1000);
  const saved: number[] = [];
  const interaction = (exp: number) =>
    ({ exp, returnTo: 'http://hub.example/auth/uid', lastSubmission: { login: { accountId: 'person' } }, result: undefined, save: async (ttl: number) => (saved.push(ttl), 'uid') }) as unknown as Parameters<typeof saveInteractionResult>[0];

  const consenting = interaction(now + 600);
  t.is(await saveInteractionResult(consenting, { consent: { grantId: 'grant' } }, { mergeWithLastSubmission: true }), 'http://hub.example/auth/uid');
  t.deepEqual(consenting.result, { login: { accountId: 'person' }, consent: { grantId: 'grant' } }, 'the sign-in just before it kept');
  t.true(saved[0]! > 590 && saved[0]! <= 600, String(saved[0]));

  const cancelled = interaction(now + 600);
  await saveInteractionResult(cancelled, { error: 'access_denied' }, { mergeWithLastSubmission: true });
  t.deepEqual(cancelled.result, { error: 'access_denied' }, 'an error is not merged');

  const expired = interaction(now);
  await t.throwsAsync(saveInteractionResult(expired, { login: { accountId: 'person' } }, { mergeWithLastSubmission: false }), { name: 'SessionNotFound' });
  t.is(saved.length, 2, 'not saved again');
});
