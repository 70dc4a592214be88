import type { EventEmitter } from 'node:events';
import { SpanKind, type Attributes, type Span } from '@opentelemetry/api';
import type { Knex } from 'knex';
import type { DatabaseTarget } from '../platform/config.ts';
import { hubTracer, insideSpan, recordFailure } from '../platform/spans.ts';

/** What knex's `query`, `query-response` and `query-error` events carry (the values apart, in `bindings`). */
interface QueryEvent {
  sql: string;
  __knexQueryUid?: string;
}

// Past a leading comment (our batched writes carry one, src/db/change-feed.ts's mark).
const operationOf = (sql: string) => /^\s*(?:\/\*[\s\S]*?\*\/\s*)*\(?\s*([a-z]+)/i.exec(sql)?.[1]?.toUpperCase() ?? 'SQL';
const tableOf = (sql: string) => /\b(?:from|into|update)\s+"?([\w]+)"?/i.exec(sql)?.[1];

function serverOf(target: DatabaseTarget): Attributes {
  if (target.kind !== 'postgres' || !URL.canParse(target.url)) return {};
  const url = new URL(target.url);
  return { 'server.address': url.hostname, 'server.port': Number(url.port || 5432), 'db.name': url.pathname.slice(1) || 'postgres' };
}

/**
 * One client span per SQL statement, from knex's own events, so PGlite is covered as well as
 * Postgres. The statement is recorded with its placeholders (`$1`), never the values. Only
 * statements run inside a request or a job are traced (background polling would otherwise make a
 * trace per statement), and only those knex reports the end of (not BEGIN and COMMIT).
 * Returns the detach.
 */
export function traceQueries(db: Knex, target: DatabaseTarget): () => void {
  const server = serverOf(target);
  const open = new Map<string, Span>();
  const events = db as unknown as EventEmitter;
  const onQuery = (query: QueryEvent) => {
    if (!query.__knexQueryUid || !insideSpan()) return;
    const operation = operationOf(query.sql);
    const table = tableOf(query.sql);
    const span = hubTracer().startSpan(table ? `${operation} ${table}` : operation, {
      kind: SpanKind.CLIENT,
      attributes: { 'db.system': 'postgresql', 'db.statement': query.sql, 'db.operation': operation, ...(table ? { 'db.sql.table': table } : {}), ...server },
    });
    open.set(query.__knexQueryUid, span);
  };
  const onResponse = (_response: unknown, query: QueryEvent) => {
    if (!query.__knexQueryUid) return;
    open.get(query.__knexQueryUid)?.end();
    open.delete(query.__knexQueryUid);
  };
  const onError = (error: unknown, query: QueryEvent) => {
    const span = query.__knexQueryUid ? open.get(query.__knexQueryUid) : undefined;
    if (!span) return;
    recordFailure(span, error);
    span.end();
    open.delete(query.__knexQueryUid!);
  };
  events.on('query', onQuery);
  events.on('query-response', onResponse);
  events.on('query-error', onError);
  return () => {
    events.off('query', onQuery);
    events.off('query-response', onResponse);
    events.off('query-error', onError);
    for (const span of open.values()) span.end();
    open.clear();
  };
}
