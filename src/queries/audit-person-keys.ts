import type { Knex } from 'knex';

/** A person's audit key, wrapped with the master secret (src/audit/personal-seal.ts). */
export interface AuditPersonKeyRow {
  person_id: string;
  wrapped_key: string;
}

export const auditPersonKeyQueries = {
  /** Stores a key unless the person has one already; returns the one that is kept. */
  ensure: async (trx: Knex, row: AuditPersonKeyRow): Promise<AuditPersonKeyRow> => {
    await trx('audit_person_keys').insert(row).onConflict('person_id').ignore();
    return (await trx('audit_person_keys').where({ person_id: row.person_id }).first('person_id', 'wrapped_key')) as AuditPersonKeyRow;
  },
  /** The data export: when the person's audit key was made (never the key). */
  createdAt: async (db: Knex, personId: string): Promise<Date | null> =>
    ((await db('audit_person_keys').where({ person_id: personId }).first('created_at')) as { created_at: Date } | undefined)?.created_at ?? null,
  byPeople: (db: Knex, personIds: string[]): Promise<AuditPersonKeyRow[]> =>
    personIds.length ? db('audit_person_keys').whereIn('person_id', personIds).select('person_id', 'wrapped_key') : Promise.resolve([]),
  /** Crypto-shredding: without it, the person's sealed audit fields can never be read again. */
  destroy: (trx: Knex, personId: string) => trx('audit_person_keys').where({ person_id: personId }).delete(),
};
