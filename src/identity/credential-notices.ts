import type { Knex } from 'knex';
import type { Logger } from '../platform/logger.ts';
import type { Mailer } from '../platform/mail/mailer.ts';
import type { MailTemplates } from '../platform/mail/messages.ts';
import { auditQueries } from '../queries/audit-log.ts';
import { openAuditRows } from '../audit/personal-seal.ts';
import { noticeCursorQueries } from '../queries/credential-notice-cursor.ts';
import { userQueries } from '../queries/users.ts';

const methodNames: Record<string, string> = { totp: 'an authenticator app', passkey: 'a passkey', recovery_codes: 'your recovery codes' };
const method = (data: Record<string, unknown>) => methodNames[String(data.method)] ?? 'a sign-in method';

/**
 * Credential changes that get a notice by mail, read from the audit log (every area writes its
 * acts there, so none has to remember to mail). A password reset mails its own notice.
 */
const notices: Record<string, (data: Record<string, unknown>) => { subject: string; what: string }> = {
  'password.changed': () => ({ subject: 'Your UniQVerse password was changed', what: 'The password of your account was changed.' }),
  'mfa.enrolled': (d) => ({ subject: 'A sign-in method was added to your UniQVerse account', what: `${method(d)[0]!.toUpperCase()}${method(d).slice(1)} was added to your account${d.name ? ` ("${String(d.name)}")` : ''}.` }),
  'mfa.removed': (d) => ({ subject: 'A sign-in method was removed from your UniQVerse account', what: `${method(d)[0]!.toUpperCase()}${method(d).slice(1)} was removed from your account${d.name ? ` ("${String(d.name)}")` : ''}.` }),
  'recovery_codes.generated': () => ({ subject: 'New recovery codes for your UniQVerse account', what: 'New recovery codes were made for your account; the old ones no longer work.' }),
  'app_password.created': (d) => ({ subject: 'An app password was created for your UniQVerse account', what: `An app password was created${d.device_name ? ` for "${String(d.device_name)}"` : ''}.` }),
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
  const outgoing: Array<{ to: string; name: string; subject: string; what: string; ip: string | null; device: string | null }> = [];
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
      outgoing.push({ to: user.email, name: user.name, ...notices[row.action]!(row.data), ip: row.ip, device: row.user_agent });
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
