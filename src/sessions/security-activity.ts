import type { Knex } from 'knex';
import { describeUserAgent } from '../identity/browser-names.ts';
import { auditQueries } from '../queries/audit-log.ts';
import { openAuditRows } from '../audit/personal-seal.ts';
import { paginate, type Pager } from '../db/pagination.ts';

/** The audit entries a person sees about their own account, in words. Others (admin acts on services, keys) are not theirs. */
const describe: Record<string, (data: Record<string, unknown>) => string> = {
  'user.signup': () => 'Account created',
  'user.created': () => 'Account created by an administrator',
  'user.disabled': () => 'Account disabled by an administrator',
  'user.enabled': () => 'Account enabled again by an administrator',
  'signin.succeeded': (d) => (Array.isArray(d.amr) && d.amr.length > 1 ? 'Signed in with 2-step verification' : Array.isArray(d.amr) && d.amr.includes('webauthn') ? 'Signed in with a passkey' : 'Signed in'),
  'signin.failed': () => 'Sign-in refused: wrong password',
  'signin.second_factor_failed': () => 'Sign-in refused: wrong code',
  'password.changed': () => 'Password changed',
  'password.change_failed': () => 'Password change refused: wrong current password',
  'user.delete_failed': () => 'Account deletion refused: wrong password',
  'password.reset_requested': () => 'Password reset asked for',
  'password.reset': () => 'Password reset',
  'email.verified': () => 'Email address verified',
  'email.change_requested': () => 'Email change asked for',
  'email.changed': (d) => `Email changed${typeof d.new_email === 'string' ? ` to ${d.new_email}` : ''}`,
  'email.change_failed': () => 'Email change refused: wrong password',
  'email.change_refused': () => 'Email change refused: the address cannot be used',
  'email.change_cancelled': () => 'Email change cancelled',
  'mfa.enrolled': (d) => (d.method === 'passkey' ? `Passkey added${typeof d.name === 'string' ? `: ${d.name}` : ''}` : 'Authenticator app turned on'),
  'mfa.removed': (d) => (d.method === 'passkey' ? `Passkey removed${typeof d.name === 'string' ? `: ${d.name}` : ''}` : 'Authenticator app removed'),
  'recovery_codes.generated': () => 'New recovery codes made',
  'recovery_code.used': () => 'Recovery code used to sign in',
  'app_password.created': (d) => `App password created${typeof d.device_name === 'string' ? ` for ${d.device_name}` : ''}`,
  'app_password.revoked': (d) => `App password revoked${typeof d.device_name === 'string' ? ` for ${d.device_name}` : ''}`,
  'app_password.failed': () => 'App password refused',
  'session.revoked': (d) => (d.scope === 'all' ? 'Signed out everywhere' : 'A session was signed out'),
};

export const securityActions = Object.keys(describe);

export interface SecurityEvent {
  at: Date;
  what: string;
  /** A refusal: shown as a warning. */
  refused: boolean;
  device: string;
  ip: string | null;
}

interface AuditRow {
  occurred_at: Date;
  action: string;
  ip: string | null;
  user_agent: string | null;
  data: Record<string, unknown> | null;
}

/** A page of the person's own security activity, newest first: what, when, from which device and address. */
export async function securityActivity(db: Knex, userId: string, page: number, perPage = 10): Promise<{ items: SecurityEvent[]; pager: Pager }> {
  const query = auditQueries.forSubjectWithActions(db, userId, securityActions);
  const { items, pager } = await paginate<AuditRow>(query, page, perPage);
  const opened = await openAuditRows(db, items);
  return {
    pager,
    items: opened.map((row) => ({
      at: new Date(row.occurred_at),
      what: describe[row.action]!(row.data ?? {}),
      refused: /failed|refused/.test(row.action),
      device: row.user_agent ? describeUserAgent(row.user_agent).name : 'No browser (the command line or a service)',
      ip: row.ip,
    })),
  };
}
