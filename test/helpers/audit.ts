import type { Knex } from 'knex';

/** An audit entry as the tests read it. */
export interface AuditRow {
  seq: number;
  action: string;
  actor_id: string | null;
  subject_id: string | null;
  ip: string | null;
  data: Record<string, unknown>;
}

/** The entries written after `seq`, oldest first. */
export const auditEntriesAfter = (db: Knex, seq: number): Promise<AuditRow[]> =>
  db('audit_log').where('seq', '>', seq).orderBy('seq').select('seq', 'action', 'actor_id', 'subject_id', 'ip', 'data');
