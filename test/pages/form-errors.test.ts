import test from 'ava';
import { limitPolicy } from '../../src/platform/rate-limits.ts';
import { startTestHub } from '../helpers/hub.ts';
import { makePerson } from '../helpers/fixtures.ts';
import { UserAgent } from '../helpers/user-agent.ts';
import { csrfTokenOf, signedInAgent } from '../portal/portal-helpers.ts';

/** What a person sees after posting a form: the status, its headers, the alert and whether the form is there again. */
async function answerOf(response: Response, form: RegExp) {
  const html = await response.text();
  return {
    status: response.status,
    retryAfter: Number(response.headers.get('retry-after')),
    type: response.headers.get('content-type'),
    cacheControl: response.headers.get('cache-control'),
    alert: /role="alert">([^<]*)</.exec(html)?.[1] ?? null,
    formShown: form.test(html),
  };
}

// src/web/http/form-errors.ts: one policy for every form. Too many tries is shown on the form,
// filled in as it was, with 429 and Retry-After: not an error page on one form and the form on another.
test('two forms, sign-up and the email change, answer "too many tries" the same way: the form again, 429 and Retry-After', async (t) => {
  const hub = await startTestHub(t);

  // Sign-up: the address's sign-ups for the hour are used up.
  for (let i = 0; i < limitPolicy.signupsPerIp; i++) await hub.limits.check('signup', { ip: '127.0.0.1' });
  const visitor = new UserAgent();
  const { url } = await visitor.follow(`${hub.url}/signup`, hub.url);
  const uid = /\/interaction\/([\w-]+)\/signup$/.exec(url)?.[1];
  t.truthy(uid, `the sign-up form opens (at ${url})`);
  const signup = await answerOf(
    await visitor.postForm(`${hub.url}/interaction/${uid}/signup`, { name: 'Ada', email: 'ada-limited@example.test', password: 'a long unusual passphrase 42' }),
    new RegExp(`action="/interaction/${uid}/signup"[^>]*>[\\s\\S]*value="ada-limited@example.test"`),
  );

  // Email change: the account's change mails for the hour are used up.
  const person = await makePerson(hub);
  const agent = await signedInAgent(hub, person);
  for (let i = 0; i < limitPolicy.resetMailsPerAccount; i++) await hub.limits.check('reset_request', { accountKey: `email-change:${person.id}`, ip: '192.0.2.1' });
  const change = await answerOf(
    await agent.postForm(`${hub.url}/account/security/email`, { _csrf: await csrfTokenOf(agent, hub), newEmail: 'elsewhere@example.test', password: person.password }),
    /name="newEmail"[^>]*value="elsewhere@example.test"/,
  );

  t.is(await hub.db('users').where({ email: 'ada-limited@example.test' }).first(), undefined, 'no account was made');
  for (const [name, answer] of Object.entries({ signup, change })) {
    t.is(answer.status, 429, `${name}: status`);
    t.true(answer.retryAfter > 0, `${name}: Retry-After`);
    t.regex(answer.type ?? '', /^text\/html/, `${name}: a page`);
    t.is(answer.cacheControl, 'no-store', `${name}: not cached`);
    t.true(answer.formShown, `${name}: the form again, filled in`);
    t.regex(answer.alert ?? '', /Try again/, `${name}: says when to try again`);
  }
});
