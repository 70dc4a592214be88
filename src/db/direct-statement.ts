import type { EventEmitter } from 'node:events';
import type { Knex } from 'knex';

/** What both drivers' connections answer: pg's Client and PGlite. */
interface RawConnection {
  query(text: string | { name: string; text: string; values: unknown[] }, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

interface PooledClient extends EventEmitter {
  acquireConnection(): Promise<RawConnection>;
  releaseConnection(connection: RawConnection): Promise<void>;
}

let statementCount = 0;

/** PGlite runs every statement in this process, so there is nothing to prepare once per connection. */
const isPglite = (connection: RawConnection) => 'waitReady' in connection;

/**
 * A fixed statement (`$1`… parameters) sent past knex's query builder and runner, on a connection
 * from knex's own pool: for the writes of every token request, where building and running a query
 * through knex cost the hub more CPU than Postgres spends on it (bench/query-cost.ts: 186 µs a
 * statement through the builder, 91 µs on the pg pool, 57 µs prepared). Given a transaction, it
 * runs on the transaction's connection (knex's transaction client hands out only that one). knex's
 * `query` event still fires, from the client as knex's runner fires it (and `query-response` or
 * `query-error` after it, with the same `__knexQueryUid`), so whatever counts or watches
 * statements (the change feed, the bench, tests, query spans) sees it, on a transaction and on
 * the knex it was started from alike.
 *
 * `preparedAs`: on Postgres, a name to prepare it under, parsed and planned once per connection.
 * Only for a statement with one good plan whatever its values: Postgres may keep a plan made
 * without them (a "generic" plan) for as long as the connection lives.
 */
export function directStatement<Row>(db: Knex, text: string, preparedAs?: string): (values: unknown[]) => Promise<Row[]> {
  const client = db.client as unknown as PooledClient;
  const events: EventEmitter = client;
  return async (values) => {
    const connection = await client.acquireConnection();
    const { __knexUid, __knexTxId } = connection as RawConnection & { __knexUid?: string; __knexTxId?: string };
    const query = { __knexUid, __knexTxId, sql: text, bindings: values, method: 'raw', __knexQueryUid: `direct-${++statementCount}` };
    try {
      events.emit('query', query);
      const result = preparedAs && !isPglite(connection) ? await connection.query({ name: preparedAs, text, values }) : await connection.query(text, values);
      events.emit('query-response', result.rows, query);
      return result.rows as Row[];
    } catch (error) {
      events.emit('query-error', error, query);
      throw error;
    } finally {
      await client.releaseConnection(connection);
    }
  };
}
