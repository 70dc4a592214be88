import type { Knex } from 'knex';
import { z } from 'zod';
import { entryBy, type AuditActor } from '../audit/actors.ts';
import { appendAudit } from '../audit/audit-log.ts';
import { conflict } from '../platform/errors.ts';
import { appendEvent } from '../outbox/outbox.ts';
import { parseInput } from '../platform/validation.ts';
import type { PasswordHasher } from './password-hashing.ts';
import { userQueries, type UserRow } from '../queries/users.ts';
import { personDirectory } from '../queries/person-directory.ts';

export const emailSchema = z.string().trim().toLowerCase().max(254).email('Enter a valid email address.');
export const passwordSchema = z
  .string()
  .min(8, 'Use at least 8 characters (15 or more is better).')
  .max(128, 'Use at most 128 characters.');
export const nameSchema = z.string().trim().min(1, 'Enter your name.').max(100, 'Use at most 100 characters.');

const newUserSchema = z.object({
  email: emailSchema,
  password: passwordSchema,
  name: nameSchema,
  admin: z.boolean().default(false),
  emailVerified: z.boolean().default(false),
  /** The home region (data residency); unset: the default region. Ignored when residency is off. */
  region: z.enum(['eu', 'us', 'in'], { error: 'Choose a region: eu, us or in.' }).optional(),
});

export type NewUser = z.input<typeof newUserSchema>;

export interface PublicUser {
  id: string;
  email: string;
  email_verified: boolean;
  name: string;
  is_admin: boolean;
  disabled: boolean;
  created_at: string;
}

export function publicUser(row: UserRow): PublicUser {
  return {
    id: row.id,
    email: row.email,
    email_verified: row.email_verified,
    name: row.name,
    is_admin: row.is_admin,
    disabled: row.disabled_at !== null,
    created_at: new Date(row.created_at).toISOString(),
  };
}

/**
 * Creates an account and announces it (user.signup). Made by an operator or administrator
 * (`createdBy`), it is audited as user.created in the same transaction; sign-up audits its own.
 */
export async function createUser(db: Knex, hasher: PasswordHasher, input: NewUser, createdBy?: AuditActor): Promise<UserRow> {
  const data = parseInput(newUserSchema, input);
  const passwordHash = await hasher.hash(data.password);
  const taken = () => conflict('An account with this email already exists.', { email: 'An account with this email already exists.' });
  // With residency on, the directory reserves the email and chooses the database the account is made in.
  const placed = await personDirectory.place(db, data.email, data.region ?? null);
  if (placed === 'taken') throw taken();
  const create = () => db.transaction(async (trx) => {
    if (await userQueries.byEmail(trx, data.email)) throw taken();
    const user = await userQueries.insert(trx, {
      ...(placed ? { id: placed.id } : {}),
      email: data.email,
      name: data.name,
      password_hash: passwordHash,
      is_admin: data.admin,
      email_verified: data.emailVerified,
    });
    await appendEvent(trx, { type: 'user.signup', userId: user.id, data: { email: user.email, name: user.name } });
    if (createdBy) {
      await appendAudit(trx, entryBy(createdBy, { action: 'user.created', subjectId: user.id, data: { email: user.email, is_admin: user.is_admin, email_verified: user.email_verified } }));
    }
    return user;
  });
  if (!placed) return create();
  try {
    return await personDirectory.forPerson(db, placed.id, create);
  } catch (error) {
    await placed.undo();
    throw error;
  }
}

export type SignInResult = { ok: true; user: UserRow } | { ok: false };

/** Unknown email, wrong password and disabled account look the same from outside and take the same time. */
export async function verifyPasswordSignIn(db: Knex, hasher: PasswordHasher, email: string, password: string): Promise<SignInResult> {
  await personDirectory.claimHomeOfEmail(db, email);
  return checkPassword(hasher, await userQueries.byEmail(db, email.trim()), password);
}

/** The same check for a person already looked up (undefined: no account has the email). */
export async function checkPassword(hasher: PasswordHasher, user: UserRow | undefined, password: string): Promise<SignInResult> {
  if (!user?.password_hash) {
    await hasher.verifyNothing(password);
    return { ok: false };
  }
  const good = await hasher.verify(user.password_hash, password);
  if (!good || user.disabled_at) return { ok: false };
  return { ok: true, user };
}
