import test from 'ava';
import { startTestHub } from '../helpers/hub.ts';

// A person whose session ended while a page was open is sent to sign in, and comes back to that page.

test('an htmx request without a session sends the browser to sign in and back to the page it came from, never to the fragment it asked for', async (t) => {
  const hub = await startTestHub(t);
  const fragment = await fetch(`${hub.url}/account/security/email/pending`, { headers: { 'HX-Request': 'true', 'HX-Current-URL': `${hub.url}/account/security` }, redirect: 'manual' });
  t.is(fragment.status, 401);
  t.is(fragment.headers.get('hx-redirect'), '/account/signin?return_to=%2Faccount%2Fsecurity');

  // A page asked for by the browser itself comes back to itself.
  const page = await fetch(`${hub.url}/account/security`, { redirect: 'manual' });
  t.is(page.status, 302);
  t.is(page.headers.get('location'), '/account/signin?return_to=%2Faccount%2Fsecurity');

  // A current URL that is no URL, or names another site's path oddly, ends on the account page, never a 500.
  for (const current of ['not a url', 'https://elsewhere.example//evil.example/x']) {
    const odd = await fetch(`${hub.url}/account/security/email/pending`, { headers: { 'HX-Request': 'true', 'HX-Current-URL': current }, redirect: 'manual' });
    t.is(odd.status, 401, current);
    t.is(odd.headers.get('hx-redirect'), '/account/signin?return_to=%2Faccount', current);
  }
});
