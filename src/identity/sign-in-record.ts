import type { Context } from 'koa';
import type { Knex } from 'knex';
import { appendAudit } from '../audit/audit-log.ts';
import { randomToken, sha256 } from '../crypto/tokens.ts';
import type { Logger } from '../observability/logger.ts';
import type { Mailer } from '../mail/mailer.ts';
import type { MailTemplates } from '../mail/messages.ts';
import { knownDeviceQueries } from './known-device-queries.ts';
import type { UserRow } from './user-queries.ts';

export const deviceCookie = 'uq_device';

export interface SignInRecordDeps {
  db: Knex;
  mailer: Mailer;
  mail: MailTemplates;
  logger: Logger;
  secureCookies: boolean;
}

/**
 * What happens once a sign-in is complete (every factor passed): the audit entry, and a notice
 * by mail when this browser has not signed in to the account before. A browser is recognised by
 * a long-lived random cookie, of which only a hash is stored.
 */
export async function recordSignIn(deps: SignInRecordDeps, ctx: Context, user: UserRow, amr: string[]): Promise<void> {
  const origin = { ip: ctx.ip || null, userAgent: ctx.get('user-agent') || null };
  let device = ctx.cookies.get(deviceCookie);
  if (!device || !/^[\w-]{43}$/.test(device)) {
    device = randomToken(32);
    ctx.cookies.set(deviceCookie, device, { httpOnly: true, sameSite: 'lax', secure: deps.secureCookies, maxAge: 400 * 24 * 3600_000, overwrite: true });
  }
  const deviceHash = sha256(`device:${device}`);
  const { isNew, firstEver } = await deps.db.transaction(async (trx) => {
    await appendAudit(trx, { action: 'signin.succeeded', actorId: user.id, subjectId: user.id, ...origin, data: { amr } });
    return knownDeviceQueries.see(trx, { user_id: user.id, device_hash: deviceHash, user_agent: origin.userAgent?.slice(0, 256) ?? null, ip: origin.ip });
  });
  if (isNew && !firstEver) {
    deps.mailer.post(deps.mail.securityNotice({
      to: user.email,
      name: user.name,
      subject: 'New sign-in to your UniQVerse account',
      what: 'Your account was just signed in to from a browser or device that had not signed in before.',
      ip: origin.ip,
      device: origin.userAgent,
    }));
  }
}
