import type { Knex } from 'knex';

export interface ActivityRow {
  seq: number;
  id: string;
  type: string;
  occurred_at: Date;
  service: string | null;
  data: Record<string, unknown>;
}

export const activityQueries = {
  /** A person's events from the outbox, newest first, before a position (exclusive). */
  forUser: (db: Knex, userId: string, options: { before?: number; limit: number; service?: string }): Promise<ActivityRow[]> => {
    const query = db('outbox').where({ user_id: userId }).orderBy('seq', 'desc').limit(options.limit).select('seq', 'id', 'type', 'occurred_at', 'service', 'data');
    if (options.before !== undefined) query.where('seq', '<', options.before);
    if (options.service === 'hub') query.whereNull('service');
    else if (options.service) query.where({ service: options.service });
    return query;
  },
  /** The services that appear in a person's activity, for the filter. */
  servicesOf: async (db: Knex, userId: string): Promise<string[]> => {
    const rows: Array<{ service: string }> = await db('outbox').where({ user_id: userId }).whereNotNull('service').distinct('service');
    return rows.map((r) => r.service).sort();
  },
};
