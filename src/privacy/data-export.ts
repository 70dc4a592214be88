import type { Knex } from 'knex';
import type { UserRow } from '../queries/users.ts';
import { presentColumns } from '../db/schema-probe.ts';
import { appPasswordQueries } from '../queries/app-passwords.ts';
import { auditQueries } from '../queries/audit-log.ts';
import { openAuditRows } from '../audit/personal-seal.ts';
import { deviceQueries } from '../queries/device-apps.ts';
import { passkeyQueries } from '../queries/passkeys.ts';
import { recoveryCodeQueries } from '../queries/recovery-codes.ts';
import { totpQueries } from '../queries/totp-factors.ts';
import { serviceQueries } from '../queries/services.ts';
import { activityPage } from '../sessions/activity.ts';
import { servicesFor } from './service-access.ts';
import { listSessions } from '../sessions/sessions.ts';

const iso = (value: unknown) => (value ? new Date(value as string).toISOString() : null);

type ExportRows = (db: Knex, userId: string, columns: string[]) => Promise<Array<Record<string, unknown>>>;

/** Rows of a table another area adds (devices), once it exists; chosen columns only, never secrets. */
async function rowsOf(db: Knex, table: string, columns: string[], userId: string, read: ExportRows): Promise<Array<Record<string, unknown>>> {
  const present = await presentColumns(db, table, columns);
  return present ? read(db, userId, present) : [];
}

/**
 * Everything the hub holds about a person, by name: account, services and tiers, what each
 * service may see, sessions, sign-in methods (names and dates only), devices, app passwords
 * (never their hashes), activity, and the audit entries about them. No secret, seed or hash.
 */
export async function exportPersonalData(db: Knex, user: UserRow, now = new Date()) {
  const services = await servicesFor(db, user.id);
  const sessions = await listSessions(db, user.id, null);
  const activity = [];
  let before: number | undefined;
  for (;;) {
    const page = await activityPage(db, user.id, { before, limit: 100, now });
    activity.push(...page.items.map((i) => ({ at: i.at.toISOString(), type: i.type, service: i.serviceName, what: i.text })));
    if (page.next === null) break;
    before = page.next;
  }
  const serviceNames = new Map((await serviceQueries.namesById(db)).map((s) => [s.id, s.name]));
  const appPasswords = await rowsOf(db, 'app_passwords', ['device_name', 'device_type', 'service_id', 'created_at', 'last_used_at', 'last_ip', 'revoked_at'], user.id, appPasswordQueries.exportRows);
  const audit = await openAuditRows(db, await auditQueries.forExport(db, user.id));
  return {
    exported_at: now.toISOString(),
    account: { id: user.id, email: user.email, email_verified: user.email_verified, name: user.name, administrator: user.is_admin, created_at: iso(user.created_at), updated_at: iso(user.updated_at) },
    services: services.map((s) => ({
      service: s.name,
      url: s.url,
      tier: s.tier,
      expires_at: iso(s.expiresAt),
      status: s.status,
      connected: s.connected,
      may_see: s.sees,
      you_share: { profile: s.consent.profile, email: s.consent.email, activity: s.consent.activity },
    })),
    sessions: sessions.map((s) => ({ device: s.device.name, ip: s.ip, signed_in_at: iso(s.signedInAt), last_active_at: iso(s.lastActiveAt), services: s.services })),
    sign_in_methods: {
      password: Boolean(user.password_hash),
      passkeys: (await rowsOf(db, 'passkeys', ['name', 'device_type', 'backed_up', 'created_at', 'last_used_at'], user.id, passkeyQueries.exportRows)).map((p) => ({ ...p, created_at: iso(p.created_at), last_used_at: iso(p.last_used_at) })),
      authenticator_app: (await rowsOf(db, 'totp_factors', ['confirmed_at', 'created_at'], user.id, totpQueries.exportRows)).map((t) => ({ confirmed_at: iso(t.confirmed_at), created_at: iso(t.created_at) })),
      recovery_codes_left: (await rowsOf(db, 'recovery_codes', ['used_at'], user.id, recoveryCodeQueries.exportRows)).filter((r) => !r.used_at).length,
    },
    devices: (await rowsOf(db, 'devices', ['kind', 'name', 'os', 'app_version', 'created_at', 'last_seen_at', 'revoked_at'], user.id, deviceQueries.exportRows)).map((d) => ({
      ...d,
      created_at: iso(d.created_at),
      last_seen_at: iso(d.last_seen_at),
      revoked_at: iso(d.revoked_at),
    })),
    app_passwords: appPasswords.map((a) => ({
      device_name: a.device_name,
      device_type: a.device_type,
      service: a.service_id ? (serviceNames.get(a.service_id as string) ?? null) : 'every service',
      created_at: iso(a.created_at),
      last_used_at: iso(a.last_used_at),
      last_ip: a.last_ip ?? null,
      revoked_at: iso(a.revoked_at),
    })),
    activity,
    security_log: audit.map((a) => ({ at: iso(a.occurred_at), action: a.action, ip: a.ip, user_agent: a.user_agent, details: a.data })),
  };
}
