import type { Knex } from 'knex';
import { openAuditRows } from '../../src/audit/personal-seal.ts';

/** An audit entry as the tests read it. */
export interface AuditRow {
  seq: number;
  action: string;
  actor_id: string | null;
  subject_id: string | null;
  ip: string | null;
  data: Record<string, unknown>;
}

/** The entries written after `seq`, oldest first, personal fields opened (as the hub reads them). */
export const auditEntriesAfter = async (db: Knex, seq: number): Promise<AuditRow[]> =>
  openAuditRows(db, await db('audit_log').where('seq', '>', seq).orderBy('seq').select('seq', 'action', 'actor_id', 'subject_id', 'ip', 'data'));

/** A person's entries with this action, oldest first, personal fields opened. */
export const auditEntriesOf = async (db: Knex, subjectId: string, action: string): Promise<Array<AuditRow & { user_agent: string | null }>> =>
  openAuditRows(db, await db('audit_log').where({ subject_id: subjectId, action }).orderBy('seq').select('seq', 'action', 'actor_id', 'subject_id', 'ip', 'user_agent', 'data'));
