import { t, translateShown, type Locale } from '../../platform/i18n.ts';
import { erasedMark } from '../../platform/personal-fields.ts';
import { everyServiceValue, type PersonalDataExport } from '../../privacy/data-export.ts';

/** One piece of a section of the data page: a list of labelled values, or a table. */
export type ExportBlock =
  | { kind: 'fields'; heading: string | null; fields: Array<{ label: string; text: string }> }
  | { kind: 'table'; heading: string | null; columns: string[]; rows: string[][] };

export interface ExportSectionView {
  id: string;
  title: string;
  tables: string;
  blocks: ExportBlock[];
}

/** The catalogue key of each field name of the export (its JSON keys, as data-export.ts writes them). */
const fieldKeys: Record<string, string> = {
  id: 'data.field.id',
  email: 'data.field.email',
  email_verified: 'data.field.email_verified',
  name: 'data.field.name',
  administrator: 'data.field.administrator',
  created_at: 'data.field.created_at',
  updated_at: 'data.field.updated_at',
  tiers: 'data.field.tiers',
  overview: 'data.field.overview',
  service: 'data.field.service',
  tier: 'data.field.tier',
  expires_at: 'data.field.expires_at',
  since: 'data.field.since',
  changed_at: 'data.field.changed_at',
  url: 'data.field.url',
  status: 'data.field.status',
  connected: 'data.field.connected',
  may_see: 'data.field.may_see',
  you_share: 'data.field.you_share',
  profile: 'data.field.profile',
  activity: 'data.field.activity',
  share_profile: 'data.field.share_profile',
  share_email: 'data.field.share_email',
  share_activity: 'data.field.share_activity',
  open: 'data.field.open',
  seen: 'data.field.seen',
  device: 'data.field.device',
  ip: 'data.field.ip',
  signed_in_at: 'data.field.signed_in_at',
  last_active_at: 'data.field.last_active_at',
  services: 'data.field.services',
  user_agent: 'data.field.user_agent',
  first_seen_at: 'data.field.first_seen_at',
  last_seen_at: 'data.field.last_seen_at',
  password: 'data.field.password',
  passkeys: 'data.field.passkeys',
  authenticator_app: 'data.field.authenticator_app',
  recovery_codes_left: 'data.field.recovery_codes_left',
  device_type: 'data.field.device_type',
  backed_up: 'data.field.backed_up',
  last_used_at: 'data.field.last_used_at',
  confirmed_at: 'data.field.confirmed_at',
  waiting_for_second_factor: 'data.field.waiting_for_second_factor',
  passkey_ceremonies: 'data.field.passkey_ceremonies',
  amr: 'data.field.amr',
  purpose: 'data.field.purpose',
  used_at: 'data.field.used_at',
  attempts: 'data.field.attempts',
  kind: 'data.field.kind',
  os: 'data.field.os',
  app_version: 'data.field.app_version',
  revoked_at: 'data.field.revoked_at',
  what: 'data.field.what',
  title: 'data.field.title',
  taken_at: 'data.field.taken_at',
  client_id: 'data.field.client_id',
  device_name: 'data.field.device_name',
  last_ip: 'data.field.last_ip',
  scope: 'data.field.scope',
  factors: 'data.field.factors',
  type: 'data.field.type',
  occurred_at: 'data.field.occurred_at',
  data: 'data.field.data',
  published_at: 'data.field.published_at',
  at: 'data.field.at',
  action: 'data.field.action',
  by_you: 'data.field.by_you',
  about_you: 'data.field.about_you',
  details: 'data.field.details',
  exists: 'data.field.exists',
  settings: 'data.field.settings',
  subscriptions: 'data.field.subscriptions',
  deliveries: 'data.field.deliveries',
  kinds: 'data.field.kinds',
  quiet_start: 'data.field.quiet_start',
  quiet_end: 'data.field.quiet_end',
  label: 'data.field.label',
  enabled: 'data.field.enabled',
  last_success_at: 'data.field.last_success_at',
  event_type: 'data.field.event_type',
  body: 'data.field.body',
  finished_at: 'data.field.finished_at',
  daily_summary: 'data.field.daily_summary',
  daily_summaries: 'data.field.daily_summaries',
  day: 'data.field.day',
  outcome: 'data.field.outcome',
  event_count: 'data.field.event_count',
  home_region: 'data.field.home_region',
};

/** The catalogue key of each section's title. */
const sectionKeys: Record<string, string> = {
  account: 'data.section.account',
  services: 'data.section.services',
  sharing_choices: 'data.section.sharing_choices',
  sessions: 'data.section.sessions',
  browsers: 'data.section.browsers',
  sign_in_methods: 'data.section.sign_in_methods',
  sign_ins_under_way: 'data.section.sign_ins_under_way',
  email_confirmations: 'data.section.email_confirmations',
  devices: 'data.section.devices',
  handoffs: 'data.section.handoffs',
  live_tickets: 'data.section.live_tickets',
  notifications: 'data.section.notifications',
  app_passwords: 'data.section.app_passwords',
  provider_records: 'data.section.provider_records',
  events: 'data.section.events',
  activity: 'data.section.activity',
  security_log: 'data.section.security_log',
  audit_key: 'data.section.audit_key',
  residency: 'data.section.residency',
};

const derived = (key: string) => key.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());

/** The catalogue key that labels a field of the export, by its JSON key (undefined: the page derives a label from the key). */
export const fieldLabelKey = (key: string): string | undefined => fieldKeys[key];

/** The words of one page: a field's label by its JSON key (a key the catalogue lacks, such as an event's own data, reads as itself). */
function wordsIn(locale: Locale) {
  const label = (key: string) => (fieldKeys[key] ? t(locale, fieldKeys[key]) : derived(key));
  function text(value: unknown): string {
    if (value === null || value === undefined || value === '') return '—';
    if (typeof value === 'boolean') return t(locale, value ? 'data.yes' : 'data.no');
    if (value === everyServiceValue) return t(locale, 'data.everyService');
    if (value === erasedMark) return translateShown(locale, erasedMark);
    if (Array.isArray(value)) return value.every((v) => typeof v !== 'object' || v === null) ? value.map(text).join(', ') || '—' : JSON.stringify(value);
    if (typeof value === 'object') return Object.entries(value as Record<string, unknown>).map(([k, v]) => `${label(k)}: ${text(v)}`).join('; ') || '—';
    return String(value);
  }
  return { label, text };
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function blocksOf(value: unknown, heading: string | null, words: ReturnType<typeof wordsIn>, locale: Locale): ExportBlock[] {
  const { label, text } = words;
  if (Array.isArray(value) && value.every(isRecord)) {
    const columns = [...new Set(value.flatMap((row) => Object.keys(row)))];
    return [{ kind: 'table', heading, columns: columns.map(label), rows: value.map((row) => columns.map((c) => text(row[c]))) }];
  }
  if (isRecord(value)) {
    const flat = Object.entries(value).filter(([, v]) => !(Array.isArray(v) && v.some(isRecord)) && !(isRecord(v) && Object.values(v).some((inner) => typeof inner === 'object' && inner !== null)));
    const nested = Object.entries(value).filter((entry) => !flat.includes(entry));
    const own: ExportBlock[] = flat.length ? [{ kind: 'fields', heading, fields: flat.map(([k, v]) => ({ label: label(k), text: text(v) })) }] : [];
    return [...own, ...nested.flatMap(([k, v]) => blocksOf(v, label(k), words, locale))];
  }
  return [{ kind: 'fields', heading, fields: [{ label: heading ?? t(locale, 'data.value'), text: text(value) }] }];
}

/** The export as the portal's data page shows it: every section, in the export's order, in the person's words. */
export function exportSections(data: PersonalDataExport, locale: Locale): ExportSectionView[] {
  const words = wordsIn(locale);
  return (Object.keys(data.sources) as Array<keyof typeof data.sources>).map((id) => ({
    id,
    title: sectionKeys[id] ? t(locale, sectionKeys[id]) : derived(id),
    tables: data.sources[id].join(', '),
    blocks: blocksOf(data[id], null, words, locale),
  }));
}
