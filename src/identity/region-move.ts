import type { Knex } from 'knex';
import { entryBy, type AuditActor } from '../audit/actors.ts';
import { appendAudit } from '../audit/audit-log.ts';
import { destroyAuditKey } from '../audit/personal-seal.ts';
import { routerOf } from '../db/regions.ts';
import { copyRowsWhere, tablesReferencing } from '../db/table-copy.ts';
import { AppError, badRequest, conflict, notFound } from '../platform/errors.ts';
import { outboxQueries } from '../queries/outbox.ts';
import { personDirectory } from '../queries/person-directory.ts';
import { userQueries } from '../queries/users.ts';
import { modelQueries } from '../queries/oidc-models.ts';
import { eraseTracesOf } from './erasure.ts';

export interface RegionMove {
  id: string;
  from: string;
  to: string;
  /** Rows copied, by table. */
  copied: Record<string, number>;
}

/** Tables of a person's rows without a foreign key to their account: copied by the column that names them. */
const alongside = [
  { table: 'oidc_models', column: 'account_id' },
  { table: 'outbox', column: 'user_id' },
  { table: 'audit_person_keys', column: 'person_id' },
];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Moves a person's data to another region (data residency), audited in both. Their account row is
 * locked in the old region for the whole move, so nothing of theirs is written there meanwhile:
 * writes that refer to the account wait, and after the move they fail and are retried in the new
 * region.
 *
 * 1. Every row of theirs is copied into the new region in one transaction: the account, each
 *    table that refers to it, their sessions, grants and tokens (they stay signed in), their events
 *    (the activity page), and their audit key. `user.moved_in` is audited there.
 * 2. In the old region, in the transaction holding the lock, `user.moved_out` is audited and
 *    everything of theirs is erased as a deletion erases it (src/identity/erasure.ts). Their audit
 *    key goes from there, so the entries that stay in the old region's chain keep their
 *    personal fields sealed under a key that only the new region holds.
 * 3. The directory points at the new region, and every instance hears it.
 *
 * A move that fails after step 1 leaves the person where they were. The copy it left in the new
 * region is cleared by the next attempt.
 */
export async function moveToRegion(db: Knex, email: string, region: string, actor: AuditActor): Promise<RegionMove> {
  const router = routerOf(db);
  if (!router) throw badRequest('Data residency is off: this hub has one database, so there is nowhere to move to.');
  if (!router.regions.has(region)) throw badRequest(`This hub keeps no data in region ${region}. Choose one of: ${[...router.regions.keys()].join(', ')}.`, { region: 'Unknown region.' });
  const entry = await personDirectory.entryOfEmail(db, email);
  if (!entry) throw notFound(`No user with email ${email}.`);
  if (entry.region === region) throw conflict(`${email} already lives in region ${region}.`);
  const id = entry.user_id;
  const source = router.regionDb(entry.region);
  const target = router.regionDb(region);

  // Their last events go out from where they were written: the relay there publishes them first.
  for (let waited = 0; (await outboxQueries.unpublishedOf(source, id)) > 0; waited += 100) {
    if (waited >= 10_000) throw new AppError('busy', `Events about ${email} are still waiting to be published in region ${entry.region}; try again in a minute.`, { retryAfter: 60 });
    await sleep(100);
  }

  const copied: Record<string, number> = {};
  await source.transaction(async (from) => {
    const user = await userQueries.lock(from, id);
    if (!user) throw notFound(`No user with email ${email}.`);
    if ((await outboxQueries.unpublishedOf(from, id)) > 0) throw new AppError('busy', `New events about ${email} arrived during the move; try again.`, { retryAfter: 5 });
    const owned = await tablesReferencing(from, 'users');
    await target.transaction(async (to) => {
      await clearLeftovers(to, id);
      copied.users = await copyRowsWhere(from, to, 'users', 'id', id);
      for (const { table, column } of [...owned, ...alongside]) copied[table] = (copied[table] ?? 0) + (await copyRowsWhere(from, to, table, column, id));
      await appendAudit(to, entryBy(actor, { action: 'user.moved_in', subjectId: id, data: { from: entry.region, to: region } }));
    });
    await appendAudit(from, entryBy(actor, { action: 'user.moved_out', subjectId: id, data: { from: entry.region, to: region } }));
    await eraseTracesOf(from, user);
    await outboxQueries.removeOf(from, id);
    await userQueries.remove(from, id);
  });
  await personDirectory.move(router, id, region);
  return { id, from: entry.region, to: region, copied };
}

/** What an earlier move that failed half-way left of the person in the region they are going to. */
async function clearLeftovers(trx: Knex, id: string): Promise<void> {
  await userQueries.remove(trx, id);
  await modelQueries.deleteMentioning(trx, [id]);
  await outboxQueries.removeOf(trx, id);
  await destroyAuditKey(trx, id);
}
