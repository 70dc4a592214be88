import type { Knex } from 'knex';
import type { UserRow } from '../queries/users.ts';
import { listSessions } from './sessions.ts';

export interface SecuritySummary {
  twoStep: boolean;
  authenticatorApp: boolean;
  passkeys: number;
  recoveryCodesLeft: number;
  devices: number;
  sessions: number;
  lastSignIn: { at: Date; device: string } | null;
  /** The check-up: what to do next, most important first. */
  checkup: Array<{ text: string; href: string; action: string }>;
}

/** Tables other areas add as they land (devices), per database; only a found table is remembered. */
const knownTables = new WeakMap<Knex, Set<string>>();
async function count(db: Knex, table: string, where: (q: Knex.QueryBuilder) => void): Promise<number> {
  let known = knownTables.get(db);
  if (!known) knownTables.set(db, (known = new Set()));
  if (!known.has(table)) {
    if (!(await db.schema.hasTable(table))) return 0;
    known.add(table);
  }
  const row = await db(table).where(where).count<{ n: string }>({ n: '*' }).first();
  return Number(row?.n ?? 0);
}

export async function securitySummary(db: Knex, user: UserRow, currentSessionUid: string | null): Promise<SecuritySummary> {
  const [totp, passkeys, recoveryCodesLeft, devices, sessions] = await Promise.all([
    count(db, 'totp_factors', (q) => q.where({ user_id: user.id }).whereNotNull('confirmed_at')),
    count(db, 'passkeys', (q) => q.where({ user_id: user.id })),
    count(db, 'recovery_codes', (q) => q.where({ user_id: user.id }).whereNull('used_at')),
    count(db, 'devices', (q) => q.where({ user_id: user.id }).whereNull('revoked_at')),
    listSessions(db, user.id, currentSessionUid),
  ]);
  const latest = sessions.filter((s) => s.signedInAt).sort((a, b) => b.signedInAt!.getTime() - a.signedInAt!.getTime())[0];
  const twoStep = totp > 0 || passkeys > 0;
  const checkup: SecuritySummary['checkup'] = [];
  if (!user.email_verified) checkup.push({ text: 'Confirm your email address, so you can get back in if you forget your password.', href: '/account/security', action: 'Confirm email' });
  if (!twoStep) checkup.push({ text: 'Turn on 2-step verification: a passkey or an authenticator app keeps your account yours even if your password leaks.', href: '/account/security', action: 'Turn on 2-step' });
  if (twoStep && recoveryCodesLeft === 0) checkup.push({ text: 'Save recovery codes, in case you lose your phone or security key.', href: '/account/security', action: 'Get recovery codes' });
  if (passkeys === 0) checkup.push({ text: 'Add a passkey: sign in with your fingerprint, face or screen lock instead of a password.', href: '/account/security', action: 'Add a passkey' });
  if (sessions.length > 1) checkup.push({ text: `You are signed in on ${sessions.length} devices or browsers. Sign out of the ones you do not recognise.`, href: '/account/sessions', action: 'Review sessions' });
  return {
    twoStep,
    authenticatorApp: totp > 0,
    passkeys,
    recoveryCodesLeft,
    devices,
    sessions: sessions.length,
    lastSignIn: latest ? { at: latest.signedInAt!, device: latest.device.name } : null,
    checkup,
  };
}
