import { dictionary } from '@zxcvbn-ts/language-common';
import { z } from 'zod';
import { AppError } from '../platform/errors.ts';
import { parseInput } from '../platform/validation.ts';
import { passwordSchema } from './users.ts';

/**
 * NIST SP 800-63B: length (8 to 128), no composition rules, and a check against passwords known
 * to be common or breached. The list is zxcvbn-ts's "passwords-common" dictionary (about 49,000
 * passwords from breach corpora), bundled with @zxcvbn-ts/language-common: no network at run time.
 */
const common = new Set(dictionary['passwords-common'].map((p) => p.toLowerCase()));

export const tooCommonMessage = 'This password is too common: it appears in lists of breached passwords that attackers try first. Choose another.';

export function isCommonPassword(password: string): boolean {
  return common.has(password.toLowerCase());
}

/** Checks a password someone chooses (sign-up, reset, change); 400 with a field error if refused. */
export function checkNewPassword(password: unknown, context: { email?: string; name?: string } = {}): string {
  const { password: value } = parseInput(z.object({ password: passwordSchema }), { password });
  const lower = value.toLowerCase();
  if (isCommonPassword(value)) throw new AppError('invalid_input', tooCommonMessage, { fields: { password: tooCommonMessage } });
  const email = context.email?.trim().toLowerCase();
  if (email && (lower === email || lower === email.split('@')[0])) {
    const message = 'Do not use your email address as your password.';
    throw new AppError('invalid_input', message, { fields: { password: message } });
  }
  return value;
}
