import type pg from 'pg';

const readTimeout = 'Query read timeout';

type Callback = (error: Error | null, result?: unknown) => void;

/**
 * pg's `query_timeout` answers the caller when the server has not answered in time, but a query
 * already sent keeps its connection waiting for that answer: the pool would hand the connection
 * out again and every later query on it would wait behind the lost one. A connection whose query
 * timed out is therefore ended; knex marks it disposed, and the pool makes a new one. Used as the
 * pool's `afterCreate`.
 */
export function endConnectionOnReadTimeout(connection: pg.Client, done: (error: Error | null, connection: pg.Client) => void): void {
  const query = connection.query.bind(connection) as (...args: unknown[]) => unknown;
  const end = (error: unknown) => {
    if (error instanceof Error && error.message === readTimeout) {
      // Not connection.end(): that waits for the server, which is what does not answer.
      (connection as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    }
  };
  (connection as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    const last = args.at(-1);
    if (typeof last === 'function') {
      args[args.length - 1] = (error: Error | null, result?: unknown) => {
        end(error);
        (last as Callback)(error, result);
      };
      return query(...args);
    }
    const result = query(...args);
    if (result instanceof Promise) result.catch(end);
    return result;
  };
  done(null, connection);
}
