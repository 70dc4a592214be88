import test from 'ava';
import * as oidc from 'openid-client';
import { deviceCodeGrant } from '../../src/catalog/clients.ts';
import { UserAgent } from '../helpers/user-agent.ts';
import { oauthError, scene, type Scene } from '../helpers/oidc.ts';

const formOf = (html: string) => ({
  action: /<form[^>]+action="([^"]+)"/.exec(html)?.[1]?.replace(/&amp;/g, '&'),
  xsrf: /name="xsrf" value="([^"]+)"/.exec(html)?.[1],
});

const poll = (s: Scene, deviceCode: string) => oidc.genericGrantRequest(s.rp, deviceCodeGrant, { device_code: deviceCode });

/**
 * The person's side: open /device, enter the code, check it on the confirm page and press "Continue",
 * then sign in (and allow, for a third-party app). Returns the pages along the way.
 */
async function enterCodeAndConfirm(s: Scene, agent: UserAgent, verificationUri: string, userCode: string) {
  const inputHtml = await (await agent.request(verificationUri)).text();
  const form = formOf(inputHtml);
  const entered = await agent.postForm(new URL(form.action!, s.hub.url).href, { xsrf: form.xsrf!, user_code: userCode });
  const confirmPage = { status: entered.status, html: await entered.text() };
  const confirmForm = formOf(confirmPage.html);
  const confirmed = await agent.postForm(new URL(confirmForm.action!, s.hub.url).href, { xsrf: confirmForm.xsrf!, user_code: userCode, confirm: 'yes' });
  if (confirmed.status < 300 || confirmed.status >= 400) throw new Error(`confirm answered ${confirmed.status}`);

  let { response } = await agent.follow(new URL(confirmed.headers.get('location')!, s.hub.url).href, s.hub.url);
  for (let step = 0; step < 4; step++) {
    const html = await response.text();
    const interaction = /\/interaction\/([\w-]+)\/(login|confirm)/.exec(html);
    if (!interaction) return { inputHtml, confirmPage, done: { status: response.status, html } };
    const posted = interaction[2] === 'login'
      ? await agent.postForm(`${s.hub.url}/interaction/${interaction[1]}/login`, { email: s.person.email, password: s.person.password })
      : await agent.postForm(`${s.hub.url}/interaction/${interaction[1]}/confirm`, {});
    ({ response } = await agent.follow(new URL(posted.headers.get('location')!, s.hub.url).href, s.hub.url));
  }
  throw new Error('too many steps');
}

test.serial('device authorization grant: pending while the person has not confirmed, tokens once they have', async (t) => {
  const s = await scene(t, { client: { type: 'device' } });
  const started = await oidc.initiateDeviceAuthorization(s.rp, { scope: 'openid email offline_access' });
  t.regex(started.user_code, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
  t.is(started.verification_uri, `${s.hub.url}/device`);
  t.true(started.verification_uri_complete!.startsWith(`${s.hub.url}/device?user_code=`));

  t.is(await oauthError(t, poll(s, started.device_code)), 'authorization_pending');

  const agent = new UserAgent();
  const { inputHtml, confirmPage, done } = await enterCodeAndConfirm(s, agent, started.verification_uri, started.user_code);
  t.regex(inputHtml, /<label for="user_code">Code<\/label>/);
  t.is(confirmPage.status, 200);
  t.true(confirmPage.html.includes(started.user_code), 'the confirm page shows the code to compare');
  t.regex(confirmPage.html, /<button[^>]*>Continue<\/button>/);
  t.is(done.status, 200);
  t.regex(done.html, /Device connected/);

  const tokens = await poll(s, started.device_code);
  t.truthy(tokens.access_token);
  t.truthy(tokens.refresh_token);
  t.is(tokens.claims()!.sub, s.person.id);
  const info = await oidc.fetchUserInfo(s.rp, tokens.access_token, s.person.id);
  t.is(info.email, s.person.email);

  // The device code is single-use.
  t.is(await oauthError(t, poll(s, started.device_code)), 'invalid_grant');
});

test.serial('device flow: the code prefilled from verification_uri_complete works too', async (t) => {
  const s = await scene(t, { client: { type: 'device' } });
  const started = await oidc.initiateDeviceAuthorization(s.rp, { scope: 'openid' });
  const page = await new UserAgent().request(started.verification_uri_complete!);
  t.is(page.status, 200);
  t.true((await page.text()).includes(`value="${started.user_code}"`));
});

test.serial('device flow: a wrong code shows an error on our page with a 4xx, not a 500', async (t) => {
  const s = await scene(t, { client: { type: 'device' } });
  await oidc.initiateDeviceAuthorization(s.rp, { scope: 'openid' });
  const agent = new UserAgent();
  for (const wrong of ['BCDF-GHJK', 'not a code', '', 'x'.repeat(5000)]) {
    const form = formOf(await (await agent.request(`${s.hub.url}/device`)).text());
    const answer = await agent.postForm(new URL(form.action!, s.hub.url).href, { xsrf: form.xsrf!, user_code: wrong });
    t.true(answer.status >= 400 && answer.status < 500, `${JSON.stringify(wrong.slice(0, 20))}: ${answer.status}`);
    t.regex(answer.headers.get('content-type') ?? '', /text\/html/);
    const html = await answer.text();
    t.regex(html, /role="alert"/);
    t.regex(html, /<label for="user_code">Code<\/label>/, 'the form is shown again');
  }
});

test.serial('device flow: "Cancel" on the confirm page makes the device\'s polling end with access_denied', async (t) => {
  const s = await scene(t, { client: { type: 'device' } });
  const started = await oidc.initiateDeviceAuthorization(s.rp, { scope: 'openid' });
  const agent = new UserAgent();
  const form = formOf(await (await agent.request(started.verification_uri)).text());
  const entered = await agent.postForm(new URL(form.action!, s.hub.url).href, { xsrf: form.xsrf!, user_code: started.user_code });
  const confirmForm = formOf(await entered.text());
  const cancelled = await agent.postForm(new URL(confirmForm.action!, s.hub.url).href, { xsrf: confirmForm.xsrf!, user_code: started.user_code, abort: 'yes' });
  t.true(cancelled.status < 500, `status ${cancelled.status}`);
  t.is(await oauthError(t, poll(s, started.device_code)), 'access_denied');
  // The code is spent: entering it again shows an error.
  const again = formOf(await (await agent.request(started.verification_uri)).text());
  const reentered = await agent.postForm(new URL(again.action!, s.hub.url).href, { xsrf: again.xsrf!, user_code: started.user_code });
  t.true(reentered.status >= 400 && reentered.status < 500, `status ${reentered.status}`);
});

test.serial('device authorization by a client that is not a device client, or unknown, is refused', async (t) => {
  const s = await scene(t, { client: { type: 'native' } });
  const refused = await t.throwsAsync<oidc.ResponseBodyError>(oidc.initiateDeviceAuthorization(s.rp, { scope: 'openid' }));
  t.is(refused?.status, 400);
  t.is(refused?.error, 'invalid_request');
  t.regex(refused?.error_description ?? '', /device_code is not allowed/);
  const unknown = await fetch(`${s.hub.url}/device/auth`, {
    method: 'POST',
    body: new URLSearchParams({ client_id: 'nobody', scope: 'openid' }),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  t.is(unknown.status, 401);
  t.is(((await unknown.json()) as { error: string }).error, 'invalid_client');
});

test.serial('device pages reached without a session (no cookie, no body, GET /device/<anything>) answer a 4xx page whose form then works', async (t) => {
  const s = await scene(t, { client: { type: 'device' } });
  const started = await oidc.initiateDeviceAuthorization(s.rp, { scope: 'openid' });
  const bare = [
    ['POST', '/device', undefined, undefined],
    ['POST', '/device', '', 'application/x-www-form-urlencoded'],
    ['POST', '/device', 'user_code=BCDF-GHJK', 'application/x-www-form-urlencoded'],
    ['POST', '/device', `xsrf=forged&user_code=${started.user_code}`, 'application/x-www-form-urlencoded'],
    ['POST', '/device', '{"user_code":"x"}', 'application/json'],
    ['GET', '/device/auth', undefined, undefined],
    ['GET', '/device/no-such-uid', undefined, undefined],
  ] as const;
  for (const [method, path, body, type] of bare) {
    const answer = await fetch(`${s.hub.url}${path}`, { method, body, headers: type ? { 'content-type': type } : {}, redirect: 'manual' });
    const html = await answer.text();
    t.true(answer.status >= 400 && answer.status < 500, `${method} ${path} ${body ?? ''}: ${answer.status}`);
    t.notRegex(html, /persist can only|\n\s+at /);
  }

  // The page a sessionless POST gets carries a form a browser can use: its secret was kept.
  const agent = new UserAgent();
  const refused = await agent.postForm(`${s.hub.url}/device`, { user_code: started.user_code });
  t.is(refused.status, 400);
  const form = formOf(await refused.text());
  t.truthy(form.xsrf);
  const entered = await agent.postForm(new URL(form.action!, s.hub.url).href, { xsrf: form.xsrf!, user_code: started.user_code });
  t.is(entered.status, 200);
  t.true((await entered.text()).includes(started.user_code), 'the confirm page is shown');
});
