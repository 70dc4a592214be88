import type { Knex } from 'knex';
import { z } from 'zod';
import { parseInput } from '../platform/validation.ts';
import { toEnvelope, type HubEvent } from './outbox.ts';
import { outboxQueries } from '../queries/outbox.ts';

const activitySchema = z.object({
  before: z.coerce.number({ message: 'before must be a cursor from a previous page.' }).int().positive().optional(),
  limit: z.coerce.number().int().min(1, 'limit is 1 to 100.').max(100, 'limit is 1 to 100.').default(25),
  service: z.string().trim().toLowerCase().regex(/^[a-z][a-z0-9-]{1,39}$/, 'Not a service slug.').optional(),
});

export type ActivityQuery = z.input<typeof activitySchema>;

export interface ActivityPage {
  items: HubEvent[];
  /** Pass as `before` for the next (older) page; null on the last page. */
  next: string | null;
}

/** A person's events across every service, newest first (the portal's activity page and GET /hub/activity). */
export async function listActivity(db: Knex, userId: string, query: ActivityQuery = {}): Promise<ActivityPage> {
  const { before, limit, service } = parseInput(activitySchema, query);
  const rows = await outboxQueries.forUser(db, userId, { limit: limit + 1, ...(before ? { before } : {}), ...(service ? { service } : {}) });
  const page = rows.slice(0, limit);
  return { items: page.map(toEnvelope), next: rows.length > limit ? String(page[page.length - 1]!.seq) : null };
}
