import type { Knex } from 'knex';
import type { Logger } from '../platform/logger.ts';
import type { Mailer } from '../platform/mail/mailer.ts';
import type { MailTemplates, SecurityNotice } from '../platform/mail/messages.ts';
import { noValue } from '../platform/i18n.ts';
import { auditQueries } from '../queries/audit-log.ts';
import { openAuditRows } from '../audit/personal-seal.ts';
import { noticeCursorQueries } from '../queries/credential-notice-cursor.ts';
import { userQueries } from '../queries/users.ts';

/** The method's word in the catalogue's select (mail.notice.mfaAdded.what: totp, passkey, recovery_codes, other). */
const method = (data: Record<string, unknown>) => (['totp', 'passkey', 'recovery_codes'].includes(String(data.method)) ? String(data.method) : 'other');

/**
 * Credential changes that get a notice by mail, read from the audit log (every area writes its
 * acts there, so none has to remember to mail). A password reset mails its own notice.
 */
const notices: Record<string, (data: Record<string, unknown>) => SecurityNotice> = {
  'password.changed': () => ({ notice: 'passwordChanged' }),
  'mfa.enrolled': (d) => ({ notice: 'mfaAdded', values: { method: method(d), label: d.name ? String(d.name) : noValue } }),
  'mfa.removed': (d) => ({ notice: 'mfaRemoved', values: { method: method(d), label: d.name ? String(d.name) : noValue } }),
  'recovery_codes.generated': () => ({ notice: 'recoveryCodes' }),
  'app_password.created': (d) => ({ notice: 'appPassword', values: { device: d.device_name ? String(d.device_name) : noValue } }),
};

export const noticeActions = Object.keys(notices);

export interface CredentialNoticeDeps {
  db: Knex;
  mailer: Mailer;
  mail: MailTemplates;
  logger: Logger;
  intervalMs?: number;
}

/** Reads new audit entries past the cursor (row-locked, so several instances never mail twice) and mails notices. Returns how many. */
export async function sendCredentialNotices(deps: CredentialNoticeDeps, batch = 100): Promise<number> {
  const outgoing: Array<SecurityNotice & { to: string; name: string; locale: string | null; timeZone: string | null; ip: string | null; device: string | null }> = [];
  await deps.db.transaction(async (trx) => {
    const last = await noticeCursorQueries.lock(trx);
    if (last === undefined) return;
    // Writers take seq under a lock held to commit, so everything up to max(seq) is committed.
    const end = await auditQueries.maxSeq(trx);
    if (end <= last) return;
    const rows = await openAuditRows(trx, await auditQueries.withActionsBetween(trx, last, end, noticeActions, batch));
    const reached = rows.length === batch ? Number(rows.at(-1)!.seq) : end;
    for (const row of rows) {
      if (!row.subject_id) continue;
      const user = await userQueries.byId(trx, row.subject_id);
      if (!user || user.disabled_at) continue;
      outgoing.push({ to: user.email, name: user.name, locale: user.locale, timeZone: user.time_zone, ...notices[row.action]!(row.data), ip: row.ip, device: row.user_agent });
    }
    await noticeCursorQueries.advance(trx, reached);
  });
  for (const notice of outgoing) deps.mailer.post(deps.mail.securityNotice(notice));
  return outgoing.length;
}

export function startCredentialNotices(deps: CredentialNoticeDeps): { stop(): Promise<void> } {
  let running: Promise<unknown> = Promise.resolve();
  const tick = () => {
    running = running.then(() => sendCredentialNotices(deps)).catch((error) => deps.logger.warn({ err: error }, 'credential notices failed'));
  };
  const timer = setInterval(tick, deps.intervalMs ?? 2_000);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      tick();
      await running;
    },
  };
}
