import { randomInt } from 'node:crypto';
import type { Knex } from 'knex';
import { appendAudit, type AuditOrigin } from '../audit/audit-log.ts';
import type { CredentialHasher } from '../platform/crypto/credential-hash.ts';
import { appendEvent } from '../outbox/outbox.ts';
import { recoveryCodeQueries } from '../queries/recovery-codes.ts';
import { requireVerifiedEmail } from './verified-email.ts';


export const recoveryCodeCount = 10;
/** No 0/o, 1/l/i: codes are read off paper. 31 symbols × 12 ≈ 59 bits each; guessing is also rate-limited. */
const alphabet = 'abcdefghjkmnpqrstuvwxyz23456789';
const groups = 3;
const groupLength = 4;

function newCode(): string {
  const parts: string[] = [];
  for (let g = 0; g < groups; g++) {
    let part = '';
    for (let i = 0; i < groupLength; i++) part += alphabet[randomInt(alphabet.length)];
    parts.push(part);
  }
  return parts.join('-');
}

/** What a person typed, without spaces, dashes or case; null when it cannot be a recovery code. */
export function normaliseRecoveryCode(input: string): string | null {
  const code = input.toLowerCase().replace(/[\s-]/g, '');
  return code.length === groups * groupLength && [...code].every((c) => alphabet.includes(c)) ? code : null;
}

const purpose = 'recovery-code';

/** Ten new codes, shown once; the old ones stop working. Only hashes are stored. */
export async function generateRecoveryCodes(db: Knex, hasher: CredentialHasher, userId: string, origin: AuditOrigin = {}): Promise<string[]> {
  await requireVerifiedEmail(db, userId);
  const codes = new Set<string>();
  while (codes.size < recoveryCodeCount) codes.add(newCode());
  const list = [...codes];
  await db.transaction(async (trx) => {
    await recoveryCodeQueries.replaceAll(trx, userId, list.map((c) => hasher.hash(purpose, normaliseRecoveryCode(c)!)));
    await appendEvent(trx, { type: 'mfa.enrolled', userId, data: { method: 'recovery_codes', count: list.length } });
    await appendAudit(trx, { action: 'recovery_codes.generated', actorId: userId, subjectId: userId, ...origin, data: { count: list.length } });
  });
  return list;
}

export type RecoveryCodeResult = { ok: true; remaining: number } | { ok: false };

/** Spends one code; a code works once. A code stored as plain SHA-256 (before the HMAC) still works, and is re-hashed as it is spent. */
export async function useRecoveryCode(db: Knex, hasher: CredentialHasher, userId: string, input: string, origin: AuditOrigin = {}): Promise<RecoveryCodeResult> {
  const code = normaliseRecoveryCode(input);
  if (!code) return { ok: false };
  return db.transaction(async (trx) => {
    const hash = hasher.hash(purpose, code);
    if (!(await recoveryCodeQueries.use(trx, userId, [hash, hasher.legacy(purpose, code)], hash))) return { ok: false } as const;
    const remaining = await recoveryCodeQueries.remaining(trx, userId);
    await appendAudit(trx, { action: 'recovery_code.used', actorId: userId, subjectId: userId, ...origin, data: { remaining } });
    return { ok: true, remaining } as const;
  });
}

export async function removeRecoveryCodes(db: Knex, userId: string, origin: AuditOrigin = {}): Promise<void> {
  await db.transaction(async (trx) => {
    if ((await recoveryCodeQueries.removeAll(trx, userId)) === 0) return;
    await appendEvent(trx, { type: 'mfa.removed', userId, data: { method: 'recovery_codes' } });
    await appendAudit(trx, { action: 'mfa.removed', actorId: userId, subjectId: userId, ...origin, data: { method: 'recovery_codes' } });
  });
}
