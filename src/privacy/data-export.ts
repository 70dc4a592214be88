import { handoffQueries } from '../queries/handoffs.ts';
import { notificationSettingsQueries } from '../queries/notification-settings.ts';
import { dailySummaryQueries } from '../queries/daily-summaries.ts';
import { pushDeliveryQueries } from '../queries/push-deliveries.ts';
import { pushSubscriptionQueries } from '../queries/push-subscriptions.ts';
import { liveTicketQueries } from '../queries/live-tickets.ts';
import type { Knex } from 'knex';
import type { UserRow } from '../queries/users.ts';
import { appendAudit, type ActorOrigin } from '../audit/audit-log.ts';
import { openAuditRows } from '../audit/personal-seal.ts';
import { presentColumns } from '../db/schema-probe.ts';
import { appPasswordQueries } from '../queries/app-passwords.ts';
import { auditQueries } from '../queries/audit-log.ts';
import { personDirectory } from '../queries/person-directory.ts';
import { auditPersonKeyQueries } from '../queries/audit-person-keys.ts';
import { deviceQueries } from '../queries/device-apps.ts';
import { emailTokenQueries } from '../queries/email-tokens.ts';
import { entitlementQueries } from '../queries/entitlements.ts';
import { knownBrowserQueries } from '../queries/known-browsers.ts';
import { modelQueries } from '../queries/oidc-models.ts';
import { outboxQueries } from '../queries/outbox.ts';
import { challengeQueries, passkeyQueries } from '../queries/passkeys.ts';
import { pendingSecondFactorQueries } from '../queries/pending-second-factors.ts';
import { recoveryCodeQueries } from '../queries/recovery-codes.ts';
import { consentQueries } from '../queries/service-consents.ts';
import { sightingQueries } from '../queries/session-sightings.ts';
import { totpQueries } from '../queries/totp-factors.ts';
import { serviceQueries } from '../queries/services.ts';
import { activityPage } from '../sessions/activity.ts';
import { servicesFor } from './service-access.ts';
import { listSessions } from '../sessions/sessions.ts';

/** docs/export-format.md describes this format; a change to it is a new version there. */
export const exportFormat = 'uniqverse-personal-data';
export const exportVersion = 2;

/** What the export says of an app password that works with every service. */
export const everyServiceValue = 'every service';

/**
 * Which tables each section of the export is read from. Every table that can hold a row about a
 * person is named here (test/privacy/data-export.test.ts fails for one that is not): a table
 * added without a place in the export is a table the person cannot see.
 */
export const exportSources = {
  account: ['users'],
  services: ['entitlements'],
  sharing_choices: ['service_consents'],
  sessions: ['session_sightings'],
  browsers: ['known_devices'],
  sign_in_methods: ['passkeys', 'totp_factors', 'recovery_codes'],
  sign_ins_under_way: ['pending_second_factors', 'webauthn_challenges'],
  email_confirmations: ['email_tokens'],
  devices: ['devices'],
  handoffs: ['handoffs'],
  live_tickets: ['live_tickets'],
  notifications: ['notification_settings', 'push_subscriptions', 'push_deliveries', 'daily_summary_subscribers', 'daily_summary_sends'],
  app_passwords: ['app_passwords'],
  provider_records: ['oidc_models'],
  events: ['outbox'],
  activity: ['outbox'],
  security_log: ['audit_log'],
  audit_key: ['audit_person_keys'],
  residency: ['person_directory'],
} as const satisfies Record<string, readonly string[]>;

export type ExportSection = keyof typeof exportSources;

const iso = (value: unknown) => (value ? new Date(value as string).toISOString() : null);

type ExportRows = (db: Knex, userId: string, columns: string[]) => Promise<Array<Record<string, unknown>>>;

/** Rows of a table another area adds (devices), once it exists; chosen columns only, never secrets. */
async function rowsOf(db: Knex, table: string, columns: string[], userId: string, read: ExportRows): Promise<Array<Record<string, unknown>>> {
  const present = await presentColumns(db, table, columns);
  return present ? read(db, userId, present) : [];
}

/** Dates as ISO strings, everything else as it is. */
const withIsoDates = (row: Record<string, unknown>) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v instanceof Date ? v.toISOString() : v]));

/** What the provider's record says in words: its kind, the client, the permissions, when it ends. Never its id (a token). */
function providerRecord(row: { model: string; payload: Record<string, unknown>; expires_at: Date | null; consumed_at: Date | null }) {
  const payload = row.payload as { clientId?: string; scope?: string; openid?: { scope?: string }; loginTs?: number; amr?: string[] };
  return {
    kind: row.model,
    client_id: payload.clientId ?? null,
    scope: payload.scope ?? payload.openid?.scope ?? null,
    signed_in_at: payload.loginTs ? new Date(payload.loginTs * 1000).toISOString() : null,
    factors: payload.amr ?? null,
    expires_at: iso(row.expires_at),
    used_at: iso(row.consumed_at),
  };
}

/**
 * Everything the hub holds about a person, by name, from every table that holds a row about them
 * (exportSources): account, services and tiers, sharing choices, sessions and browsers, sign-in
 * methods (names and dates only), devices, app passwords (never their hashes), the provider's
 * records, the events about them, activity, and the audit entries about or by them, opened. No
 * secret, seed, hash or token.
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
  // With residency, the audit entries a move left in another region's chain too, opened with the key that moved with the person.
  const auditHere = await auditQueries.aboutOrBy(db, user.id);
  const auditElsewhere = (await Promise.all(personDirectory.otherRegions(db).map((other) => auditQueries.aboutOrBy(other.db, user.id)))).flat();
  const auditRows = auditElsewhere.length ? [...auditHere, ...auditElsewhere].sort((a, b) => new Date(a.occurred_at).getTime() - new Date(b.occurred_at).getTime()) : auditHere;
  const audit = await openAuditRows(db, auditRows);
  const home = await personDirectory.entryOf(db, user.id);
  const dailySummary = await dailySummaryQueries.exportRows(db, user.id);
  const auditKeyMadeAt = await auditPersonKeyQueries.createdAt(db, user.id);
  return {
    format: exportFormat,
    version: exportVersion,
    exported_at: now.toISOString(),
    sources: exportSources,
    account: { id: user.id, email: user.email, email_verified: user.email_verified, name: user.name, administrator: user.is_admin, created_at: iso(user.created_at), updated_at: iso(user.updated_at) },
    services: {
      tiers: (await entitlementQueries.forUser(db, user.id)).map((e: Record<string, unknown>) => withIsoDates({ service: e.service_name, tier: e.tier, expires_at: e.expires_at, since: e.created_at, changed_at: e.updated_at })),
      overview: services.map((s) => ({
        service: s.name,
        url: s.url,
        tier: s.tier,
        expires_at: iso(s.expiresAt),
        status: s.status,
        connected: s.connected,
        may_see: s.sees,
        you_share: { profile: s.consent.profile, email: s.consent.email, activity: s.consent.activity },
      })),
    },
    sharing_choices: (await consentQueries.exportRows(db, user.id)).map(withIsoDates),
    sessions: {
      open: sessions.map((s) => ({ device: s.device.name, ip: s.ip, signed_in_at: iso(s.signedInAt), last_active_at: iso(s.lastActiveAt), services: s.services })),
      seen: (await sightingQueries.exportRows(db, user.id)).map(withIsoDates),
    },
    browsers: (await knownBrowserQueries.exportRows(db, user.id)).map(withIsoDates),
    sign_in_methods: {
      password: Boolean(user.password_hash),
      passkeys: (await rowsOf(db, 'passkeys', ['name', 'device_type', 'backed_up', 'created_at', 'last_used_at'], user.id, passkeyQueries.exportRows)).map(withIsoDates),
      authenticator_app: (await rowsOf(db, 'totp_factors', ['confirmed_at', 'created_at'], user.id, totpQueries.exportRows)).map(withIsoDates),
      recovery_codes_left: (await rowsOf(db, 'recovery_codes', ['used_at'], user.id, recoveryCodeQueries.exportRows)).filter((r) => !r.used_at).length,
    },
    sign_ins_under_way: {
      waiting_for_second_factor: (await pendingSecondFactorQueries.exportRows(db, user.id)).map(withIsoDates),
      passkey_ceremonies: (await challengeQueries.exportRows(db, user.id)).map(withIsoDates),
    },
    email_confirmations: (await emailTokenQueries.exportRows(db, user.id)).map(withIsoDates),
    devices: (await rowsOf(db, 'devices', ['kind', 'name', 'os', 'app_version', 'created_at', 'last_seen_at', 'revoked_at'], user.id, deviceQueries.exportRows)).map(withIsoDates),
    handoffs: (await handoffQueries.exportRows(db, user.id)).map(withIsoDates),
    live_tickets: (await liveTicketQueries.exportRows(db, user.id)).map(withIsoDates),
    notifications: {
      settings: (await notificationSettingsQueries.exportRows(db, user.id)).map(withIsoDates),
      subscriptions: (await pushSubscriptionQueries.exportRows(db, user.id)).map(withIsoDates),
      deliveries: (await pushDeliveryQueries.exportRows(db, user.id)).map(({ payload, ...row }) => withIsoDates({ ...row, title: payload.title, body: payload.body })),
      daily_summary: { enabled: Boolean(dailySummary.subscriber), since: iso(dailySummary.subscriber?.created_at) },
      daily_summaries: dailySummary.sends.map((row: { day: string; outcome: string; events: number }) => ({ day: row.day, outcome: row.outcome, event_count: row.events })),
    },
    app_passwords: appPasswords.map((a) => ({
      device_name: a.device_name,
      device_type: a.device_type,
      service: a.service_id ? (serviceNames.get(a.service_id as string) ?? null) : everyServiceValue,
      created_at: iso(a.created_at),
      last_used_at: iso(a.last_used_at),
      last_ip: a.last_ip ?? null,
      revoked_at: iso(a.revoked_at),
    })),
    provider_records: (await modelQueries.exportRows(db, user.id)).map(providerRecord),
    events: (await outboxQueries.exportRows(db, user.id)).map(withIsoDates),
    activity,
    security_log: audit.map((a) => ({
      at: iso(a.occurred_at),
      action: a.action,
      by_you: a.actor_id === user.id,
      about_you: a.subject_id === user.id,
      ip: a.ip,
      user_agent: a.user_agent,
      details: a.data,
    })),
    audit_key: { exists: auditKeyMadeAt !== null, created_at: iso(auditKeyMadeAt) },
    residency: home ? { home_region: home.region, since: iso(home.placed_at) } : null,
  };
}

export type PersonalDataExport = Awaited<ReturnType<typeof exportPersonalData>>;

/** The person took their data (as JSON or as the page): audited, like every act on an account. */
export async function recordExport(db: Knex, userId: string, as: 'json' | 'html', origin: ActorOrigin): Promise<void> {
  await appendAudit(db, { action: 'data.exported', actorId: userId, subjectId: userId, ip: origin.ip ?? null, userAgent: origin.userAgent ?? null, data: { format: exportFormat, version: exportVersion, as } });
}
