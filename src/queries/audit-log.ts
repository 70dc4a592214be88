import type { Knex } from 'knex';

export interface AuditRow {
  seq: number;
  occurred_at: Date;
  action: string;
  actor_id: string | null;
  subject_id: string | null;
  ip: string | null;
  user_agent: string | null;
  data: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

/** Any constant works, as long as every writer takes the same one. "UQVA". */
const writerLock = 0x55515641;

export const auditQueries = {
  /** Serialises writers until the transaction ends: the next seq and prev_hash are read under it. */
  lockWriter: (trx: Knex.Transaction) => trx.raw('select pg_advisory_xact_lock(?)', [writerLock]),
  last: (db: Knex): Promise<Pick<AuditRow, 'seq' | 'hash'> | undefined> =>
    db('audit_log').orderBy('seq', 'desc').first('seq', 'hash'),
  insert: (trx: Knex, row: AuditRow) => trx('audit_log').insert(row),
  /** A page of the chain in order, from after `afterSeq`. */
  page: (db: Knex, afterSeq: number, limit: number): Promise<AuditRow[]> =>
    db('audit_log').where('seq', '>', afterSeq).orderBy('seq', 'asc').limit(limit),
  range: (db: Knex, fromSeq: number, toSeq: number): Promise<Array<Pick<AuditRow, 'seq' | 'hash'>>> =>
    db('audit_log').whereBetween('seq', [fromSeq, toSeq]).orderBy('seq', 'asc').select('seq', 'hash'),
  /** The id of the chain in this database (audit_chain), if it was ever used. */
  chainId: async (db: Knex): Promise<string | null> => ((await db('audit_chain').first('id')) as { id: string } | undefined)?.id ?? null,
  /** Makes the chain's id unless one exists (the unique index keeps it single); returns the one that won. */
  createChainId: async (db: Knex, id: string): Promise<string> => {
    await db.raw('insert into audit_chain (id) values (?) on conflict do nothing', [id]);
    return ((await db('audit_chain').first('id')) as { id: string }).id;
  },
  storedCheckpoints: (db: Knex, chainId: string): Promise<Array<{ writer: string; checkpoint: Record<string, unknown> }>> =>
    db('audit_checkpoints').where({ chain_id: chainId }).orderBy('to_seq').select('writer', 'checkpoint'),
  storeCheckpoint: (db: Knex, row: { chain_id: string; from_seq: number; to_seq: number; writer: string; checkpoint: Record<string, unknown> }) =>
    db('audit_checkpoints')
      .insert({ ...row, checkpoint: JSON.stringify(row.checkpoint) })
      .onConflict(['chain_id', 'to_seq', 'writer'])
      .ignore(),
  forSubject: (db: Knex, subjectId: string, limit = 50): Promise<AuditRow[]> =>
    db('audit_log').where({ subject_id: subjectId }).orderBy('seq', 'desc').limit(limit),
  byAction: (db: Knex, action: string, limit = 50): Promise<AuditRow[]> =>
    db('audit_log').where({ action }).orderBy('seq', 'desc').limit(limit),
};
