import type { Knex } from 'knex';
import type { AdapterPayload } from 'oidc-provider';
import { localWriteMark } from '../db/change-feed.ts';
import { directStatement } from '../db/direct-statement.ts';
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
  /** By model: a consume statement marks one model's rows. */
  private readonly consumes = new Map<string, GroupCommit<string, boolean>>();
  private readonly db: Knex;

  constructor(db: Knex) {
    this.db = db;
    this.upserts = new GroupCommit<ModelInsert, boolean>({ write: upsertModels(db), keyOf: rowKey });
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
    if (!consumes) this.consumes.set(model, (consumes = new GroupCommit<string, boolean>({ write: consumeModels(this.db, model), retryAlone: false })));
    return consumes.submit(id);
  }
}

// One JSON parameter holds the whole batch: the statement's text is the same for any number of
// rows, so it is prepared once per connection. xmax = 0: the row is new (a replaced one may keep
// its consumed_at).
const upsertModelsSql = `/* ${localWriteMark} */ insert into "oidc_models" (model, id, payload, grant_id, user_code, uid, account_id, expires_at)
  select * from json_to_recordset($1::json) as r(model text, id text, payload jsonb, grant_id text, user_code text, uid text, account_id text, expires_at timestamptz)
  on conflict (model, id) do update set ${mergedColumns.map((column) => `${column} = excluded.${column}`).join(', ')}
  returning model, id, (xmax = 0) as inserted`;

// Not prepared: Postgres planned it well for each batch of ids, but the plan it made once without
// them and kept for the connection cost it about twice the CPU per refresh under `npm run bench`.
const consumeModelsSql = `/* ${localWriteMark} */ update "oidc_models" set consumed_at = now()
  where model = $1 and id = any($2::text[]) and consumed_at is null
  returning id`;

function upsertModels(db: Knex): (rows: ModelInsert[]) => Promise<boolean[]> {
  const run = directStatement<ModelKey & { inserted: boolean }>(db, upsertModelsSql, 'uniqverse_upsert_models');
  return async (rows) => {
    const written = await run([JSON.stringify(rows)]);
    const inserted = new Set(written.filter((row) => row.inserted).map(rowKey));
    return rows.map((row) => inserted.has(rowKey(row)));
  };
}

function consumeModels(db: Knex, model: string): (ids: string[]) => Promise<boolean[]> {
  const run = directStatement<{ id: string }>(db, consumeModelsSql);
  return async (ids) => {
    const rows = await run([model, ids]);
    // Two redemptions of one token in one batch: the first submitted wins, as it would alone.
    const consumed = new Set(rows.map((row) => row.id));
    return ids.map((id) => consumed.delete(id));
  };
}
