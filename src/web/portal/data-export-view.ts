import type { PersonalDataExport } from '../../privacy/data-export.ts';

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

const titles: Record<string, string> = {
  account: 'Your account',
  services: 'Services and plans',
  sharing_choices: 'What you share with each service',
  sessions: 'Sessions',
  browsers: 'Browsers you signed in from',
  sign_in_methods: 'Sign-in methods',
  sign_ins_under_way: 'Sign-ins under way',
  email_confirmations: 'Confirmation and reset mails',
  devices: 'Devices',
  handoffs: 'Continued on another device',
  live_tickets: 'Live connection tickets',
  app_passwords: 'App passwords',
  provider_records: 'Sign-in records kept for services (grants and tokens, never the tokens themselves)',
  events: 'Events about you sent to services',
  activity: 'Your activity',
  security_log: 'Security log',
  audit_key: 'Your security-log key',
};

const label = (key: string) => key.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());

function text(value: unknown): string {
  if (value === null || value === undefined || value === '') return '—';
  if (typeof value === 'boolean') return value ? 'Yes' : 'No';
  if (Array.isArray(value)) return value.every((v) => typeof v !== 'object' || v === null) ? value.map(text).join(', ') || '—' : JSON.stringify(value);
  if (typeof value === 'object') return Object.entries(value as Record<string, unknown>).map(([k, v]) => `${label(k)}: ${text(v)}`).join('; ') || '—';
  return String(value);
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function blocksOf(value: unknown, heading: string | null): ExportBlock[] {
  if (Array.isArray(value) && value.every(isRecord)) {
    const columns = [...new Set(value.flatMap((row) => Object.keys(row)))];
    return [{ kind: 'table', heading, columns: columns.map(label), rows: value.map((row) => columns.map((c) => text(row[c]))) }];
  }
  if (isRecord(value)) {
    const flat = Object.entries(value).filter(([, v]) => !(Array.isArray(v) && v.some(isRecord)) && !(isRecord(v) && Object.values(v).some((inner) => typeof inner === 'object' && inner !== null)));
    const nested = Object.entries(value).filter((entry) => !flat.includes(entry));
    const own: ExportBlock[] = flat.length ? [{ kind: 'fields', heading, fields: flat.map(([k, v]) => ({ label: label(k), text: text(v) })) }] : [];
    return [...own, ...nested.flatMap(([k, v]) => blocksOf(v, label(k)))];
  }
  return [{ kind: 'fields', heading, fields: [{ label: heading ?? 'Value', text: text(value) }] }];
}

/** The export as the portal's data page shows it: every section, in the export's order, in words. */
export function exportSections(data: PersonalDataExport): ExportSectionView[] {
  return (Object.keys(data.sources) as Array<keyof typeof data.sources>).map((id) => ({
    id,
    title: titles[id] ?? label(id),
    tables: data.sources[id].join(', '),
    blocks: blocksOf(data[id], null),
  }));
}
