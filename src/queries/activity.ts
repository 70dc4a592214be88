import type { Knex } from 'knex';

export const activityQueries = {
  /** The services that appear in a person's activity, for the filter. */
  servicesOf: async (db: Knex, userId: string): Promise<string[]> => {
    const rows: Array<{ service: string }> = await db('outbox').where({ user_id: userId }).whereNotNull('service').distinct('service');
    return rows.map((r) => r.service).sort();
  },
};
