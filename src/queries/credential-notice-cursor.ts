import type { Knex } from 'knex';

/** How far credential notices have read the audit log (one row, id 1). */
export const noticeCursorQueries = {
  /** The seq read up to, row-locked until the transaction ends (so several instances never mail twice); undefined without the row. */
  lock: async (trx: Knex): Promise<number | undefined> => {
    const cursor = await trx('credential_notice_cursor').where({ id: 1 }).forUpdate().first('last_seq');
    return cursor ? Number(cursor.last_seq) : undefined;
  },
  advance: (trx: Knex, lastSeq: number) => trx('credential_notice_cursor').where({ id: 1 }).update({ last_seq: lastSeq }),
};
