import type { Knex } from 'knex';
import { appendAudit } from '../audit/audit-log.ts';
import { AppError } from '../platform/errors.ts';
import { parseInput } from '../platform/validation.ts';
import { z } from 'zod';
import { startEmailVerification, type EmailVerificationDeps } from './email-verification.ts';
import type { PasswordHasher } from './password-hashing.ts';
import { checkNewPassword } from './password-policy.ts';
import type { RequestOrigin } from './password-sign-in.ts';
import type { Limits } from '../platform/rate-limits.ts';
import type { UserRow } from '../queries/users.ts';
import { createUser, emailSchema, nameSchema, passwordSchema } from './users.ts';

export interface SignUpDeps extends EmailVerificationDeps {
  hasher: PasswordHasher;
  limits: Limits;
  db: Knex;
}

const signUpSchema = z.object({
  name: nameSchema,
  email: emailSchema,
  password: passwordSchema,
  /** The home region the person chose (data residency); absent: the default. Ignored when residency is off. */
  region: z.enum(['eu', 'us', 'in'], { error: 'Choose one of the regions offered.' }).optional(),
});

export interface SignUpInput {
  name?: unknown;
  email?: unknown;
  password?: unknown;
  region?: unknown;
}

/**
 * Creates an account from the sign-up form: checks the fields (a common or breached password is
 * refused), creates the user (createUser writes user.signup to the outbox), audits it and sends
 * the verification mail. Sign-ups per IP are limited.
 */
export async function signUp(deps: SignUpDeps, input: SignUpInput, origin: RequestOrigin): Promise<UserRow> {
  const fields = parseInput(signUpSchema, input);
  const password = checkNewPassword(fields.password, { email: fields.email, name: fields.name });
  const attempt = await deps.limits.check('signup', { ip: origin.ip });
  if (!attempt.allowed) throw new AppError('rate_limited', 'Too many new accounts from your network. Try again later.', { retryAfter: attempt.retryAfter });
  const user = await createUser(deps.db, deps.hasher, { name: fields.name, email: fields.email, password, ...(fields.region ? { region: fields.region } : {}) });
  await appendAudit(deps.db, { action: 'user.signup', actorId: user.id, subjectId: user.id, ...origin, data: { email: user.email } });
  await startEmailVerification(deps, user);
  return user;
}
