import type { Knex } from 'knex';
import { GroupCommit } from '../db/group-commit.ts';
import { modelBatchQueries, modelRowKey, type ModelInsert } from '../queries/oidc-models.ts';

export type { ModelInsert } from '../queries/oidc-models.ts';

/**
 * The writes of every token request (a refresh consumes its token and saves two new ones), sent
 * in groups: requests that save, or consume, at the same time share one statement and one commit
 * (see GroupCommit), and each caller learns what its own write did.
 */
export class ModelWrites {
  private readonly upserts: GroupCommit<ModelInsert, boolean>;
  /** By model: a consume statement marks one model's rows. */
  private readonly consumes = new Map<string, GroupCommit<string, boolean>>();
  private readonly db: Knex;

  constructor(db: Knex) {
    this.db = db;
    this.upserts = new GroupCommit<ModelInsert, boolean>({ write: modelBatchQueries.upsert(db), keyOf: modelRowKey });
  }

  /** Inserts or replaces the row; true when it is new (so it holds exactly what was written). */
  upsert(row: ModelInsert): Promise<boolean> {
    return this.upserts.submit(row);
  }

  /** Marks the row consumed; true for the one caller that did, false when it already was (or is gone). */
  consume(model: string, id: string): Promise<boolean> {
    let consumes = this.consumes.get(model);
    // Not retried one by one: a batch whose connection broke may have been committed, and a
    // consume sent again would find its token spent and revoke the grant.
    if (!consumes) this.consumes.set(model, (consumes = new GroupCommit<string, boolean>({ write: modelBatchQueries.consume(this.db, model), retryAlone: false })));
    return consumes.submit(id);
  }
}
