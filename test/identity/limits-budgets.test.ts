import test from 'ava';
import { limitPolicy } from '../../src/identity/rate-limits.ts';
import { scene } from '../helpers/oidc.ts';
import { auditCount, enrolTotp, loginForm, nextTotpCode, typeCode, typePassword } from './limits-helpers.ts';

// Each kind of credential has its own budget per account; a success refunds only its own kind.

test('a right password does not refill the second factor: password, 9 wrong codes, password again, 1 wrong recovery code, and even the right code is refused', async (t) => {
  const s = await scene(t);
  const secret = await enrolTotp(s.hub, s.person);
  const first = await loginForm(s);
  t.is((await typePassword(first, s.person.email, s.person.password)).status, 303);
  for (let i = 0; i < limitPolicy.accountAttempts - 1; i++) t.is((await typeCode(s.hub, first, String(100000 + i))).status, 401);

  // The password is right again: that refunds the password's budget, not the codes'.
  const second = await loginForm(s);
  t.is((await typePassword(second, s.person.email, s.person.password)).status, 303);
  // A recovery code spends the same budget as an authenticator code.
  t.is((await typeCode(s.hub, second, 'aaaa-bbbb-cccc')).status, 401);
  const right = await typeCode(s.hub, second, await nextTotpCode(secret));
  t.is(right.status, 401, 'the second factor is locked: a password must not lift that');
  t.is(right.error, 'That code is not right. Enter the 6-digit code from your authenticator app, or a recovery code.');
  t.is(await auditCount(s.hub, 'signin.second_factor_failed', { locked: true }), 1);
  t.is(await auditCount(s.hub, 'signin.succeeded'), 0);
});

test('wrong codes do not spend the password budget, and a good code clears only the codes\' counter', async (t) => {
  const s = await scene(t);
  const secret = await enrolTotp(s.hub, s.person);
  for (let i = 0; i < limitPolicy.accountAttempts - 1; i++) t.is((await typePassword(await loginForm(s), s.person.email, `wrong ${i}`)).status, 401);
  const form = await loginForm(s);
  t.is((await typePassword(form, s.person.email, s.person.password)).status, 303);
  // Nine failures at the codes too: had the two been one counter, the first would have locked it.
  for (let i = 0; i < limitPolicy.accountAttempts - 1; i++) t.is((await typeCode(s.hub, form, String(200000 + i))).status, 401);
  t.is((await typeCode(s.hub, form, await nextTotpCode(secret))).status, 303);
});
