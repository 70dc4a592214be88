import type { Knex } from 'knex';

/** A person's audit key, wrapped with the master secret (src/audit/personal-seal.ts). */
export interface AuditPersonKeyRow {
  person_id: string;
  wrapped_key: string;
}

export const auditPersonKeyQueries = {
  /**
   * Stores a key unless the person has one already; returns the one that is kept, in one
   * statement. A row another transaction commits while this statement runs is not in its
   * snapshot: then the look-up is made again (audit writers hold the chain's lock, so only a
   * writer outside it can race).
   */
  ensure: async (trx: Knex, row: AuditPersonKeyRow): Promise<AuditPersonKeyRow> => {
    const { rows } = (await trx.raw(
      `with made as (insert into audit_person_keys (person_id, wrapped_key) values (?, ?) on conflict (person_id) do nothing returning person_id, wrapped_key)
       select person_id, wrapped_key from made union all select person_id, wrapped_key from audit_person_keys where person_id = ? limit 1`,
      [row.person_id, row.wrapped_key, row.person_id],
    )) as { rows: AuditPersonKeyRow[] };
    return rows[0] ?? ((await trx('audit_person_keys').where({ person_id: row.person_id }).first('person_id', 'wrapped_key')) as AuditPersonKeyRow);
  },
  /** The data export: when the person's audit key was made (never the key). */
  createdAt: async (db: Knex, personId: string): Promise<Date | null> =>
    ((await db('audit_person_keys').where({ person_id: personId }).first('created_at')) as { created_at: Date } | undefined)?.created_at ?? null,
  byPeople: (db: Knex, personIds: string[]): Promise<AuditPersonKeyRow[]> =>
    personIds.length ? db('audit_person_keys').whereIn('person_id', personIds).select('person_id', 'wrapped_key') : Promise.resolve([]),
  /** Crypto-shredding: without it, the person's sealed audit fields can never be read again. */
  destroy: (trx: Knex, personId: string) => trx('audit_person_keys').where({ person_id: personId }).delete(),
};
