import type { Knex } from 'knex';
import { nextAuditRow } from '../audit/audit-log.ts';
import { eventWrite } from '../outbox/outbox.ts';
import { auditQueries } from '../queries/audit-log.ts';
import { writeTogether } from '../db/write-together.ts';
import { retryOnConflict } from '../db/retry-on-conflict.ts';
import { clientQueries } from '../queries/clients.ts';
import type { Logger } from '../platform/logger.ts';
import type { Mailer } from '../platform/mail/mailer.ts';
import type { MailTemplates } from '../platform/mail/messages.ts';
import { describeUserAgent } from '../identity/browser-names.ts';
import { knownBrowserQueries } from '../queries/known-browsers.ts';
import type { UserRow } from '../queries/users.ts';

export interface SignInRecordDeps {
  db: Knex;
  mailer: Mailer;
  mail: MailTemplates;
  logger: Logger;
}

/** Where a sign-in came from: the address, the user agent, and the hash of the browser's long-lived cookie. */
export interface SignInSource {
  ip: string | null;
  userAgent: string | null;
  browserHash: string;
}

/** The provider's interaction the sign-in answers, as far as recording it needs. */
export interface SignInInteraction {
  params: { client_id?: unknown };
  /** The service of the client asked through, when the caller already has it (the provider's cached client); looked up when absent. */
  clientService?: string | null;
  /** Present when the browser already had a session of some account when the interaction began. */
  session?: { accountId: string; uid: string } | undefined;
}

/**
 * What happens once a sign-in is complete (every factor passed): the audit entry, the
 * session.created event, and a notice by mail when this browser has not signed in to the account
 * before. A browser is recognised by a long-lived random cookie, of which only a hash is stored.
 *
 * The provider creates the session (and its uid) only after this, when the browser comes back
 * to it with the result, so session.created carries no session_id. A step-up (the browser's own
 * session of this person asked to sign in again) creates no session and writes no event.
 */
export async function recordSignIn(deps: SignInRecordDeps, source: SignInSource, user: UserRow, amr: string[], interaction: SignInInteraction): Promise<void> {
  const { browserHash, ...origin } = source;
  const { isNew, firstEver } = await retryOnConflict(() => deps.db.transaction(async (trx) => {
    // Under the audit writers' lock (one statement), then the entry, the browser and the event in one more.
    const entry = await nextAuditRow(trx, { action: 'signin.succeeded', actorId: user.id, subjectId: user.id, ...origin, data: { amr } });
    const writes: Record<string, Knex.QueryBuilder | Knex.Raw> = {
      audit: auditQueries.insert(trx, entry).returning('seq'),
      browser: knownBrowserQueries.see(trx, { user_id: user.id, device_hash: browserHash, user_agent: origin.userAgent?.slice(0, 256) ?? null, ip: origin.ip }),
    };
    if (interaction.session?.accountId !== user.id) {
      // new_device: the browser had not signed in to this account before (the account's very first sign-in aside), as the notice by mail says.
      const data = await sessionDetails(trx, origin, amr, interaction);
      writes.event = (await eventWrite(trx, { type: 'session.created', userId: user.id, data }, { new_device: knownBrowserQueries.newToAnAccountWithOthers(trx, user.id, browserHash) })).write;
    }
    const seen = (await writeTogether(trx, writes, { prepared: true })).browser![0] as { seen: boolean; before: number | string };
    return { isNew: !seen.seen, firstEver: !seen.seen && Number(seen.before) === 0 };
  }));
  if (isNew && !firstEver) {
    deps.mailer.post(deps.mail.securityNotice({
      to: user.email,
      name: user.name,
      locale: user.locale,
      timeZone: user.time_zone,
      notice: 'newSignIn',
      ip: origin.ip,
      device: origin.userAgent,
    }));
  }
}

/** What session.created says: the device in words, the address, the factors, and the service asked through. */
async function sessionDetails(trx: Knex, origin: { ip: string | null; userAgent: string | null }, amr: string[], interaction: SignInInteraction) {
  const device = describeUserAgent(origin.userAgent);
  const data: Record<string, unknown> = { device: device.name, device_kind: device.kind, ip: origin.ip, amr };
  const clientId = typeof interaction.params.client_id === 'string' ? interaction.params.client_id : null;
  // Only a service's client is named: the portal's own sign-in (no clients row) is not a service's.
  const service = !clientId ? null : interaction.clientService !== undefined ? interaction.clientService : ((await clientQueries.byId(trx, clientId))?.service_slug ?? null);
  if (clientId && service) Object.assign(data, { client_id: clientId, service });
  return data;
}
