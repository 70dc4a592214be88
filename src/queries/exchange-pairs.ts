import type { Knex } from 'knex';

/** A pair an administrator allowed: clients of `from` may exchange a person's token for one toward `to`. */
export interface ExchangePairRow {
  from_slug: string;
  to_slug: string;
  created_at: Date;
}

export const exchangePairQueries = {
  allowed: async (db: Knex, fromServiceId: string, toServiceId: string): Promise<boolean> =>
    Boolean(await db('exchange_pairs').where({ from_service_id: fromServiceId, to_service_id: toServiceId }).first('from_service_id')),
  /** True when the pair is new. */
  insert: async (trx: Knex, fromServiceId: string, toServiceId: string): Promise<boolean> => {
    const rows = await trx('exchange_pairs').insert({ from_service_id: fromServiceId, to_service_id: toServiceId }).onConflict(['from_service_id', 'to_service_id']).ignore().returning('from_service_id');
    return rows.length > 0;
  },
  /** True when there was such a pair. */
  delete: async (trx: Knex, fromServiceId: string, toServiceId: string): Promise<boolean> =>
    (await trx('exchange_pairs').where({ from_service_id: fromServiceId, to_service_id: toServiceId }).delete()) > 0,
  /** The pairs one service is in, either side. */
  ofService: (db: Knex, serviceId: string): Promise<ExchangePairRow[]> =>
    db('exchange_pairs as p')
      .join('services as f', 'f.id', 'p.from_service_id')
      .join('services as t', 't.id', 'p.to_service_id')
      .where('p.from_service_id', serviceId)
      .orWhere('p.to_service_id', serviceId)
      .orderBy(['f.slug', 't.slug'])
      .select('f.slug as from_slug', 't.slug as to_slug', 'p.created_at'),
};
