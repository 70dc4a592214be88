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
  /**
   * Serialises writers until the transaction ends, and reads the chain's last entry under the
   * lock (the next seq and prev_hash come from it) and, given a person, the key their fields are
   * sealed under, stored first from `candidateKey` unless they have one: one round trip
   * (migration 183).
   */
  lockWriterAndReadLast: async (
    trx: Knex.Transaction,
    personKey: { personId: string; candidateKey: string } | null = null,
  ): Promise<{ last: Pick<AuditRow, 'seq' | 'hash'> | undefined; wrappedKey: string | null }> => {
    const { rows }: { rows: Array<{ seq: string | number | null; hash: string | null; wrapped_key: string | null }> } = await trx.raw(
      'select seq, hash, wrapped_key from audit_lock_and_last(?, ?::uuid, ?)',
      [writerLock, personKey?.personId ?? null, personKey?.candidateKey ?? null],
    );
    const row = rows[0];
    return { last: row?.seq != null && row.hash != null ? { seq: Number(row.seq), hash: row.hash } : undefined, wrappedKey: row?.wrapped_key ?? null };
  },
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
  /** The highest seq written (writers take seq under a lock held to commit, so everything up to it is committed). */
  maxSeq: async (trx: Knex): Promise<number> => {
    const [top] = await trx('audit_log').max<{ max: number | string | null }[]>('seq as max');
    return Number(top?.max ?? 0);
  },
  /** Entries with one of these actions after `afterSeq` and up to `toSeq`, in order, at most `limit`. */
  withActionsBetween: (trx: Knex, afterSeq: number, toSeq: number, actions: string[], limit: number): Promise<AuditRow[]> =>
    trx('audit_log').where('seq', '>', afterSeq).andWhere('seq', '<=', toSeq).whereIn('action', actions).orderBy('seq').limit(limit),
  /** A person's entries with one of these actions, newest first (a query to page). */
  forSubjectWithActions: (db: Knex, subjectId: string, actions: string[]) =>
    db('audit_log').where({ subject_id: subjectId }).whereIn('action', actions).orderBy('seq', 'desc').select('occurred_at', 'action', 'ip', 'user_agent', 'data'),
  /** Every entry about a person, oldest first, without the chain's hashes. */
  forExport: (db: Knex, subjectId: string): Promise<Array<Pick<AuditRow, 'occurred_at' | 'action' | 'ip' | 'user_agent' | 'data'>>> =>
    db('audit_log').where({ subject_id: subjectId }).orderBy('seq').select('occurred_at', 'action', 'ip', 'user_agent', 'data'),
  /** The data export: every entry about the person or by them, oldest first, without the chain's hashes. */
  aboutOrBy: (db: Knex, personId: string): Promise<Array<Pick<AuditRow, 'seq' | 'occurred_at' | 'action' | 'actor_id' | 'subject_id' | 'ip' | 'user_agent' | 'data'>>> =>
    db('audit_log').where({ subject_id: personId }).orWhere({ actor_id: personId }).orderBy('seq').select('seq', 'occurred_at', 'action', 'actor_id', 'subject_id', 'ip', 'user_agent', 'data'),
  /** The console's log, newest first, filtered by action (prefix) and by whom it concerns (email); a query to page. */
  search: (db: Knex, filters: { action: string; who: string }) => {
    const query = db('audit_log as a')
      .leftJoin('users as s', 's.id', 'a.subject_id')
      .leftJoin('users as u', 'u.id', 'a.actor_id')
      .orderBy('a.seq', 'desc')
      .select('a.seq', 'a.occurred_at', 'a.action', 'a.ip', 'a.user_agent', 'a.data', 'a.subject_id', 'a.actor_id', 's.email as subject_email', 'u.email as actor_email');
    if (filters.action) query.whereILike('a.action', `${filters.action.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    if (filters.who) {
      const like = `%${filters.who.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      query.where((w) => w.whereILike('s.email', like).orWhereILike('u.email', like));
    }
    return query;
  },
};
