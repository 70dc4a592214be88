import { pino, type DestinationStream, type Logger } from 'pino';
import { activeTraceIds } from './spans.ts';

export type { Logger };

/** Standard output, or `destination` (tests read what the hub logs). */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: undefined,
    // trace_id and span_id of the span the line was logged in, when tracing is on.
    mixin: activeTraceIds,
    // Never a person's details either: the hub logs ids, not addresses, names or browsers, and a
    // database error's detail can quote a row ("Key (lower(email))=(…) already exists").
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie', '*.password', '*.client_secret', '*.email', '*.ip', '*.user_agent', 'err.detail', 'err.where'], remove: true },
  };
  return destination ? pino(options, destination) : pino(options);
}
