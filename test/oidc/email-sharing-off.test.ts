import test from 'ava';
import * as oidc from 'openid-client';
import { setConsent } from '../../src/privacy/privacy.ts';
import { scene, signedInTokens, verifyAccessToken } from '../helpers/oidc.ts';

/** Every string anywhere in a JSON value: an address must not hide under any claim's name. */
const stringsIn = (value: unknown): string[] =>
  typeof value === 'string' ? [value] : value && typeof value === 'object' ? Object.values(value).flatMap(stringsIn) : [];

const mentions = (value: unknown, email: string) => stringsIn(value).filter((s) => s.toLowerCase().includes(email.toLowerCase()));

test('a service the person keeps their email from finds it in no ID token, userinfo answer or access token, under any claim', async (t) => {
  const s = await scene(t);
  const request = { scope: 'openid email profile offline_access read', resource: s.service.resource };
  // A first sign-in: the service is one the person uses, and gets the email.
  const before = await signedInTokens(s, request);
  // With a resource the ID token carries the scopes' claims (userinfo is not for that token): the check below can see an address.
  t.true(mentions(before.claims(), s.person.email).length > 0);

  await setConsent(s.hub.db, s.person.id, s.service.slug, { profile: true, email: false, activity: true });

  const tokens = await signedInTokens(s, request);
  const idToken = tokens.claims()!;
  t.is(idToken.name, s.person.name, 'the name is still shared');
  t.deepEqual(mentions(idToken, s.person.email), [], 'ID token');
  t.false('preferred_username' in idToken);
  const { payload } = await verifyAccessToken(s.hub, tokens.access_token, s.service.resource);
  t.deepEqual(mentions(payload, s.person.email), [], 'JWT access token');
  // A refresh with the token from before the choice.
  const refreshed = await oidc.refreshTokenGrant(s.rp, before.refresh_token!, { resource: s.service.resource });
  t.deepEqual(mentions(refreshed.claims(), s.person.email), [], 'refreshed ID token');

  // Userinfo, with a plain (opaque) access token of the same client.
  const plain = await signedInTokens(s, { scope: 'openid email profile' });
  const userinfo = await oidc.fetchUserInfo(s.rp, plain.access_token, s.person.id);
  t.is(userinfo.name, s.person.name);
  t.deepEqual(mentions(userinfo, s.person.email), [], 'userinfo');
  t.deepEqual(mentions(plain.claims(), s.person.email), [], 'ID token without a resource');
});
