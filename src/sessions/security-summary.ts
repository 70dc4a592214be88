import type { Knex } from 'knex';
import { tableExists } from '../db/schema-probe.ts';
import { deviceQueries } from '../queries/device-apps.ts';
import { passkeyQueries } from '../queries/passkeys.ts';
import { recoveryCodeQueries } from '../queries/recovery-codes.ts';
import { totpQueries } from '../queries/totp-factors.ts';
import type { UserRow } from '../queries/users.ts';
import { listSessions } from './sessions.ts';
import type { MessageValues } from '../platform/i18n.ts';

export interface SecuritySummary {
  twoStep: boolean;
  authenticatorApp: boolean;
  passkeys: number;
  recoveryCodesLeft: number;
  devices: number;
  sessions: number;
  lastSignIn: { at: Date; device: string } | null;
  /** The check-up: what to do next, most important first. */
  checkup: Array<{ text: string; href: string; action: string; key: string; values?: MessageValues }>;
}

/** A count from a table other areas add as they land (devices); 0 while it is not there. */
const count = async (db: Knex, table: string, read: () => Promise<number>): Promise<number> => ((await tableExists(db, table)) ? read() : 0);

export async function securitySummary(db: Knex, user: UserRow, currentSessionUid: string | null): Promise<SecuritySummary> {
  const [totp, passkeys, recoveryCodesLeft, devices, sessions] = await Promise.all([
    count(db, 'totp_factors', () => totpQueries.countConfirmed(db, user.id)),
    count(db, 'passkeys', () => passkeyQueries.count(db, user.id)),
    count(db, 'recovery_codes', () => recoveryCodeQueries.remaining(db, user.id)),
    count(db, 'devices', () => deviceQueries.countActive(db, user.id)),
    listSessions(db, user.id, currentSessionUid),
  ]);
  const latest = sessions.filter((s) => s.signedInAt).sort((a, b) => b.signedInAt!.getTime() - a.signedInAt!.getTime())[0];
  const twoStep = totp > 0 || passkeys > 0;
  const checkup: SecuritySummary['checkup'] = [];
  if (!user.email_verified) checkup.push({ key: 'checkup.confirmEmail', text: 'Confirm your email address, so you can get back in if you forget your password.', href: '/account/security', action: 'Confirm email' });
  if (!twoStep) checkup.push({ key: 'checkup.twoStep', text: 'Turn on 2-step verification: a passkey or an authenticator app keeps your account yours even if your password leaks.', href: '/account/security', action: 'Turn on 2-step' });
  if (twoStep && recoveryCodesLeft === 0) checkup.push({ key: 'checkup.recoveryCodes', text: 'Save recovery codes, in case you lose your phone or security key.', href: '/account/security', action: 'Get recovery codes' });
  if (passkeys === 0) checkup.push({ key: 'checkup.passkey', text: 'Add a passkey: sign in with your fingerprint, face or screen lock instead of a password.', href: '/account/security', action: 'Add a passkey' });
  if (sessions.length > 1) checkup.push({ key: 'checkup.sessions', values: { count: sessions.length }, text: `You are signed in on ${sessions.length} devices or browsers. Sign out of the ones you do not recognise.`, href: '/account/sessions', action: 'Review sessions' });
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
