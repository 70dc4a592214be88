import type { Knex } from 'knex';
import type { CoherentCache } from '../platform/cache.ts';
import type { DatabaseTarget } from '../platform/config.ts';
import type { Logger } from '../platform/logger.ts';
import { listenForNotices } from './notices.ts';

/** The channel of migration 090's triggers. */
export const changesChannel = 'uniqverse_changes';

/** Statements the owner of a cache writes itself, dropping exactly what they touch (see `localWriteMark`). */
export const localWriteMark = 'cache-aware';

export interface ChangeAwareCaches {
  /** Provider models by `modelCacheKey`. */
  models: CoherentCache<unknown>;
  /** What the provider knows of a person, by `accountCacheKey` (user and privacy choices). */
  accounts: CoherentCache<unknown>;
}

/** A write sent with `localWriteMark` in front (knex leaves comments out of inserts, updates and deletes). */
export async function markedWrite<T>(db: Knex, builder: Knex.QueryBuilder): Promise<{ rows: T[]; count: number }> {
  const { sql, bindings } = builder.toSQL();
  const result = (await db.raw(`/* ${localWriteMark} */ ${sql}`, bindings)) as { rows?: T[]; rowCount?: number | null; affectedRows?: number };
  return { rows: result.rows ?? [], count: result.rowCount ?? result.affectedRows ?? 0 };
}

export const modelCacheKey = (model: string, by: 'id' | 'uid', value: string) => `${model} ${by} ${value}`;
export const accountCacheKey = (userId: string, clientId = '') => `${userId} ${clientId}`;

const writes = /^(?:\/\*.*?\*\/\s*)?(update|delete|insert)\b/i;

/**
 * Keeps the caches true to the database: every instance hears each change to a cached row at
 * commit (NOTIFY) and drops it; while the notices are not heard, nothing is cached. This process's
 * own writes that bypass the cache owners (portal, admin, identity code writing with SQL) empty the
 * cache at once as well, so a response sent after such a write never meets a stale entry here.
 */
export async function startChangeFeed(db: Knex, target: DatabaseTarget, caches: ChangeAwareCaches, logger: Logger): Promise<() => Promise<void>> {
  const onQuery = (query: { sql?: string }) => {
    const sql = query.sql;
    if (!sql || sql.startsWith(`/* ${localWriteMark} */`) || !writes.test(sql)) return;
    if (sql.includes('oidc_models')) caches.models.clear();
    if (sql.includes('"users"') || sql.includes('"service_consents"')) caches.accounts.clear();
  };
  db.on('query', onQuery);
  const live = (on: boolean) => {
    caches.models.setLive(on);
    caches.accounts.setLive(on);
  };
  const stop = await listenForNotices(db, target, [changesChannel], {
    onNotice(_channel, payload) {
      const [kind, first, second, third] = payload.split(' ');
      if (kind === 'm' && first && second) caches.models.drop(modelCacheKey(first, 'id', second), ...(third ? [modelCacheKey(first, 'uid', third)] : []));
      else if (kind === 'u' && first) caches.accounts.dropPrefix(accountCacheKey(first));
      else caches.models.clear();
    },
    onListening: () => live(true),
    onLost: () => live(false),
  }, logger);
  return async () => {
    db.off('query', onQuery);
    live(false);
    await stop();
  };
}
