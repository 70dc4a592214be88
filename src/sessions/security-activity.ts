import type { Knex } from 'knex';
import { describeUserAgent, type DeviceDescription } from '../identity/browser-names.ts';
import { noValue, type MessageValues } from '../platform/i18n.ts';
import { auditQueries } from '../queries/audit-log.ts';
import { openAuditRows } from '../audit/personal-seal.ts';
import { paginate, type Pager } from '../db/pagination.ts';

/** What happened, as a catalogue key (securityActivity.*) and the values its words take: the page words it in the person's language. */
export interface SecurityWhat {
  key: string;
  values: MessageValues;
}

const shownText = (value: unknown) => (typeof value === 'string' && value ? value : noValue);
const what = (key: string, values: MessageValues = {}): SecurityWhat => ({ key, values });

/** The audit entries a person sees about their own account. Others (admin acts on services, keys) are not theirs. */
const describe: Record<string, (data: Record<string, unknown>) => SecurityWhat> = {
  'user.signup': () => what('securityActivity.accountCreated'),
  'user.created': () => what('securityActivity.createdByAdmin'),
  'user.disabled': () => what('securityActivity.disabledByAdmin'),
  'user.enabled': () => what('securityActivity.enabledByAdmin'),
  'signin.succeeded': (d) =>
    Array.isArray(d.amr) && d.amr.length > 1 ? what('securityActivity.signedInTwoStep') : Array.isArray(d.amr) && d.amr.includes('webauthn') ? what('securityActivity.signedInPasskey') : what('securityActivity.signedIn'),
  'signin.failed': () => what('securityActivity.signInWrongPassword'),
  'signin.second_factor_failed': () => what('securityActivity.signInWrongCode'),
  'password.changed': () => what('securityActivity.passwordChanged'),
  'password.change_failed': () => what('securityActivity.passwordChangeRefused'),
  'user.delete_failed': () => what('securityActivity.deletionRefused'),
  'password.reset_requested': () => what('securityActivity.resetAsked'),
  'password.reset': () => what('securityActivity.passwordReset'),
  'email.verified': () => what('securityActivity.emailVerified'),
  'email.change_requested': () => what('securityActivity.emailChangeAsked'),
  'email.changed': (d) => what('securityActivity.emailChanged', { email: shownText(d.new_email) }),
  'email.change_failed': () => what('securityActivity.emailChangeWrongPassword'),
  'email.change_refused': () => what('securityActivity.emailChangeRefused'),
  'email.change_cancelled': () => what('securityActivity.emailChangeCancelled'),
  'mfa.enrolled': (d) => (d.method === 'passkey' ? what('securityActivity.passkeyAdded', { name: shownText(d.name) }) : what('securityActivity.authenticatorOn')),
  'mfa.removed': (d) => (d.method === 'passkey' ? what('securityActivity.passkeyRemoved', { name: shownText(d.name) }) : what('securityActivity.authenticatorRemoved')),
  'recovery_codes.generated': () => what('securityActivity.recoveryCodesMade'),
  'recovery_code.used': () => what('securityActivity.recoveryCodeUsed'),
  'app_password.created': (d) => what('securityActivity.appPasswordCreated', { device: shownText(d.device_name) }),
  'app_password.revoked': (d) => what('securityActivity.appPasswordRevoked', { device: shownText(d.device_name) }),
  'app_password.failed': () => what('securityActivity.appPasswordRefused'),
  'session.revoked': (d) => (d.scope === 'all' ? what('securityActivity.signedOutEverywhere') : what('securityActivity.sessionSignedOut')),
};

export const securityActions = Object.keys(describe);

export interface SecurityEvent {
  at: Date;
  what: SecurityWhat;
  /** A refusal: shown as a warning. */
  refused: boolean;
  /** The browser or app the entry came from; null when none (the command line or a service): the page says so. */
  device: DeviceDescription | null;
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
      device: row.user_agent ? describeUserAgent(row.user_agent) : null,
      ip: row.ip,
    })),
  };
}
