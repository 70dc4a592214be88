import type { Knex } from 'knex';
import { forbidden } from '../platform/errors.ts';
import { userQueries } from '../queries/users.ts';

export const unverifiedEmailMessage =
  'Confirm your email address first: use the link or the code in the mail we sent you. Until then no passkey, authenticator app, recovery codes or app passwords can be added.';

/**
 * No sign-in factor before the address is confirmed. Whoever signs up with someone else's
 * address could otherwise add a passkey (or an app, codes, app passwords) and keep it when the
 * address's owner later takes the account back with "Forgot password?": a reset replaces the
 * password, not the factors. Each enrolment function asks here, whichever page calls it.
 */
export async function requireVerifiedEmail(db: Knex, userId: string): Promise<void> {
  const user = await userQueries.byId(db, userId);
  if (!user?.email_verified) throw forbidden(unverifiedEmailMessage);
}
