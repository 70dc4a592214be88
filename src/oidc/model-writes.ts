import type { Knex } from 'knex';
import type { AdapterPayload } from 'oidc-provider';
import { markedWrite } from '../db/change-feed.ts';
import { GroupCommit } from '../db/group-commit.ts';

export interface ModelInsert {
  model: string;
  id: string;
  payload: AdapterPayload;
  grant_id: string | null;
  user_code: string | null;
  uid: string | null;
  account_id: string | null;
  expires_at: Date | null;
}

interface ModelKey {
  model: string;
  id: string;
}

const rowKey = (row: ModelKey) => `${row.model} ${row.id}`;
const mergedColumns = ['payload', 'grant_id', 'user_code', 'uid', 'account_id', 'expires_at'];

/**
 * The writes of every token request (a refresh consumes its token and saves two new ones), sent
 * in groups: requests that save, or consume, at the same time share one statement and one commit
 * (see GroupCommit), and each caller learns what its own write did.
 */
export class ModelWrites {
  private readonly upserts: GroupCommit<ModelInsert, boolean>;
  private readonly consumes: GroupCommit<ModelKey, boolean>;

  constructor(db: Knex) {
    this.upserts = new GroupCommit<ModelInsert, boolean>({ write: (rows) => upsertModels(db, rows), keyOf: rowKey });
    // Not retried one by one: a batch whose connection broke may have been committed, and a
    // consume sent again would find its token spent and revoke the grant.
    this.consumes = new GroupCommit<ModelKey, boolean>({ write: (keys) => consumeModels(db, keys), retryAlone: false });
  }

  /** Inserts or replaces the row; true when it is new (so it holds exactly what was written). */
  upsert(row: ModelInsert): Promise<boolean> {
    return this.upserts.submit(row);
  }

  /** Marks the row consumed; true for the one caller that did, false when it already was (or is gone). */
  consume(model: string, id: string): Promise<boolean> {
    return this.consumes.submit({ model, id });
  }
}

async function upsertModels(db: Knex, rows: ModelInsert[]): Promise<boolean[]> {
  const upsert = db('oidc_models')
    .insert(rows)
    .onConflict(['model', 'id'])
    .merge(mergedColumns)
    // xmax = 0: the row is new (a replaced one may keep its consumed_at).
    .returning(['model', 'id', db.raw('(xmax = 0) as inserted')]);
  const { rows: written } = await markedWrite<ModelKey & { inserted: boolean }>(db, upsert);
  const inserted = new Set(written.filter((row) => row.inserted).map(rowKey));
  return rows.map((row) => inserted.has(rowKey(row)));
}

async function consumeModels(db: Knex, keys: ModelKey[]): Promise<boolean[]> {
  const update = db('oidc_models').whereIn(['model', 'id'], keys.map((key) => [key.model, key.id])).whereNull('consumed_at').update({ consumed_at: db.fn.now() }, ['model', 'id']);
  const { rows } = await markedWrite<ModelKey>(db, update);
  // Two redemptions of one token in one batch: the first submitted wins, as it would alone.
  const consumed = new Set(rows.map(rowKey));
  return keys.map((key) => consumed.delete(rowKey(key)));
}
