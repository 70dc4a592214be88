import diagnostics from 'node:diagnostics_channel';
import { SpanKind, type Span } from '@opentelemetry/api';
import { hubTracer, insideSpan, recordFailure } from './spans.ts';

/** What ioredis publishes about each command on its `ioredis:command` tracing channel (its args already stripped of values). */
interface CommandMessage {
  command: string;
  args: string[];
  database: number;
  serverAddress: string;
  serverPort?: number;
  error?: unknown;
}

/**
 * One client span per Redis command (the event bus, the rate limiters), from the tracing channel
 * ioredis publishes to: no patching, and nothing at all while nobody subscribes. Only commands
 * sent inside a request or a job are traced; the bus's blocking reads, waiting in the background,
 * would otherwise each make a trace of their own. Returns the unsubscribe.
 */
export function traceRedisCommands(): () => void {
  const spans = new WeakMap<object, Span>();
  const finish = (message: CommandMessage) => {
    spans.get(message)?.end();
    spans.delete(message);
  };
  const handlers = {
    start(message: CommandMessage) {
      if (!insideSpan()) return;
      spans.set(
        message,
        hubTracer().startSpan(message.command, {
          kind: SpanKind.CLIENT,
          attributes: {
            'db.system': 'redis',
            'db.operation': message.command,
            'db.statement': [message.command, ...message.args].join(' '),
            'db.redis.database_index': message.database,
            'server.address': message.serverAddress,
            ...(message.serverPort ? { 'server.port': message.serverPort } : {}),
          },
        }),
      );
    },
    // A command that threw before it was sent ends here; every other ends when its promise settles.
    end(message: CommandMessage) {
      if (message.error !== undefined) finish(message);
    },
    asyncStart() {},
    asyncEnd: finish,
    error(message: CommandMessage) {
      const span = spans.get(message);
      if (span) recordFailure(span, message.error);
    },
  };
  const channel = diagnostics.tracingChannel('ioredis:command');
  channel.subscribe(handlers as never);
  return () => channel.unsubscribe(handlers as never);
}
